import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { firstValueFrom } from 'rxjs';
import { WebSocket } from 'ws';
import { client, startApp, within } from './app.js';
import { TestController } from './handlers.js';

describe('WsServer attached to an existing HTTP server (hybrid app)', () => {
  let http: Server;
  let started: Awaited<ReturnType<typeof startApp>>;
  let port: number;

  beforeAll(async () => {
    http = createServer((req, res) => res.end(`http says hi to ${req.url}`));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    port = (http.address() as AddressInfo).port;
    started = await startApp([TestController], { server: http, path: '/rpc', host: undefined, port: undefined });
  });
  afterAll(async () => {
    await started.app.close();
    await new Promise((resolve) => http.close(resolve));
  });

  it('serves the transport on its path and plain HTTP on the same port', async () => {
    const ws = client(`ws://127.0.0.1:${port}/rpc`);
    try {
      await expect(firstValueFrom(ws.send('sum', [2, 3]))).resolves.toBe(5);
      const ctx = (await firstValueFrom(ws.send('context', {}))) as { path: string };
      expect(ctx.path).toBe('/rpc');
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      await expect(res.text()).resolves.toBe('http says hi to /health');
    } finally {
      await ws.close();
    }
  });

  it('leaves upgrades on other paths to other listeners', async () => {
    let seenByOther = '';
    const other = (req: { url?: string }, socket: { destroy(): void }) => {
      if (req.url === '/other') {
        seenByOther = req.url;
        socket.destroy();
      }
    };
    http.on('upgrade', other);
    try {
      const raw = new WebSocket(`ws://127.0.0.1:${port}/other`, ['nest-transports.ws.v1']);
      await within(new Promise((resolve) => raw.once('error', resolve)), 2000, 'the other listener to end it');
      expect(seenByOther).toBe('/other');
    } finally {
      http.off('upgrade', other);
    }
  });

  it('keeps the HTTP server running after the microservice closes', async () => {
    const extra = await startApp([TestController], { server: http, path: '/second', host: undefined, port: undefined });
    await extra.app.close();
    const res = await fetch(`http://127.0.0.1:${port}/still-up`);
    expect(res.status).toBe(200);
  });
});
