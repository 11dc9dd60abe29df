// Must NOT compile: a typo in a client's options through clientProvider().
import { ClientsModule } from '@nestjs/microservices';
import { clientProvider, PubSubClient } from '@nest-transports/pubsub';

export const typo = ClientsModule.register([clientProvider({ name: 'ORDERS', customClass: PubSubClient, options: { topik: 'orders' } })]);
