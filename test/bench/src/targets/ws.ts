import { WsClient, WsServer } from '@nest-transports/ws';
import { nestBenchClient } from '../nest-client.js';
import { startNestServer } from '../nest-app.js';
import type { TargetModule } from '../types.js';

/** Our WebSocket transport with codec `json` (default) or `msgpack`. */
export function wsTarget(codec: 'json' | 'msgpack'): TargetModule {
  return {
    async startServer(env) {
      const strategy = new WsServer({ host: '127.0.0.1', port: 0, codec, heartbeatInterval: 0 });
      const app = await startNestServer({ strategy }, env.onEvent);
      return { info: { port: strategy.address!.port }, close: () => app.close() };
    },
    startClient: (env) => nestBenchClient(new WsClient({ url: `ws://127.0.0.1:${env.info.port}`, codec, heartbeatInterval: 0 })),
  };
}
