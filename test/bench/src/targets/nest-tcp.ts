import type { AddressInfo, Server } from 'node:net';
import { ClientTCP, Transport } from '@nestjs/microservices';
import { nestBenchClient } from '../nest-client.js';
import { startNestServer } from '../nest-app.js';
import type { TargetModule } from '../types.js';

/** Nest's TCP transport on loopback (what a user would pick instead of WebSockets). */
export const target: TargetModule = {
  async startServer(env) {
    const app = await startNestServer({ transport: Transport.TCP, options: { host: '127.0.0.1', port: 0 } }, env.onEvent);
    const { port } = app.unwrap<Server>().address() as AddressInfo;
    return { info: { port }, close: () => app.close() };
  },
  startClient: (env) => nestBenchClient(new ClientTCP({ host: '127.0.0.1', port: env.info.port as number })),
};
