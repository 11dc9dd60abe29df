// Must NOT compile: a typo in a client's options through clientProvider(), in registerAsync.
import { ClientsModule } from '@nestjs/microservices';
import { clientProvider, SqsClient } from '@nest-transports/sqs';

export const typo = ClientsModule.registerAsync([
  { name: 'ORDERS', useFactory: () => clientProvider({ customClass: SqsClient, options: { queue: 'orders', requestTimeOut: 5000 } }) },
]);
