// Must NOT compile: a typo in a client's options through clientProvider().
import { ClientsModule } from '@nestjs/microservices';
import { clientProvider, JetStreamClient } from '@nest-transports/jetstream';

export const typo = ClientsModule.register([clientProvider({ name: 'ORDERS', customClass: JetStreamClient, options: { subjekt: 'orders' } })]);
