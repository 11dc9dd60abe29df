// Must NOT compile: a typo in a client's options through clientProvider() (TS2353 / TS2561).
import { ClientsModule } from '@nestjs/microservices';
import { clientProvider, WsClient } from '@nest-transports/ws';

export const typo = ClientsModule.register([clientProvider({ name: 'ORDERS', customClass: WsClient, options: { urll: 'ws://localhost:3001' } })]);
