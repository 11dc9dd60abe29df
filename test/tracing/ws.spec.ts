import { freePort } from '@nest-transports/backends';
import { within } from '@nest-transports/backends';
import { WsClient, WsServer } from '@nest-transports/ws';
import { WebSocket } from 'ws';
import { describeTracing } from './scenarios.js';

describeTracing('ws', async () => {
  const port = await freePort();
  const url = `ws://127.0.0.1:${port}`;
  return {
    system: 'websocket',
    destination: () => url,
    source: () => '/',
    attempts: false,
    redelivers: false,
    start: async () => ({ strategy: new WsServer({ host: '127.0.0.1', port }), client: () => new WsClient({ url }) }),
    async foreignEvent(pattern, data, headers) {
      // A browser or another stack: a raw frame whose metadata carries the W3C fields.
      const socket = new WebSocket(url, ['nest-transports.ws.v1']);
      await within(new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject)), 3000, 'a raw socket');
      await new Promise<void>((resolve, reject) => socket.send(JSON.stringify({ pattern, data, metadata: headers }), (err) => (err ? reject(err) : resolve())));
      socket.close();
    },
    stop: async () => undefined,
  };
});
