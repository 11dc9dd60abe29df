// Must NOT compile: a typo in a client's options through clientProvider().
import { ClientsModule } from '@nestjs/microservices';
import { clientProvider, RedisStreamsClient } from '@nest-transports/redis-streams';

export const typo = ClientsModule.register([clientProvider({ name: 'ORDERS', customClass: RedisStreamsClient, options: { stream: 'orders', maxLength: 10 } })]);
