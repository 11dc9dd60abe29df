import { afterEach, describe, expect, it } from '@jest/globals';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { AddressInfo } from 'node:net';
import { firstValueFrom } from 'rxjs';
import { WebSocket } from 'ws';
import { WsClient, WsServer } from '../src/index.js';
import { within } from './app.js';
import { TestController } from './handlers.js';
import { startServerProcess } from './server-process.js';

const CLOSE_TIMEOUT = 2000;
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

@Module({ controllers: [TestController] })
class HybridModule {}

/** The README's hybrid app, on a real Nest HTTP app (Express). */
async function startHybrid() {
  const app = await NestFactory.create(HybridModule, new ExpressAdapter(), { logger: false });
  app.connectMicroservice({ strategy: new WsServer({ server: app.getHttpServer(), path: '/rpc', closeTimeout: CLOSE_TIMEOUT }) });
  await app.startAllMicroservices();
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, port, url: `ws://127.0.0.1:${port}/rpc` };
}

describe('hybrid app (HTTP + WsServer on one port) shuts down', () => {
  it(`app.close() with clients connected returns within closeTimeout (${CLOSE_TIMEOUT} ms)`, async () => {
    const { app, url, port } = await startHybrid();
    const clients = Array.from({ length: 3 }, () => new WsClient({ url, reconnect: { enabled: false } }));
    cleanups.push(() => Promise.all(clients.map((c) => c.close())));
    for (const c of clients) await expect(firstValueFrom(c.send('sum', [1, 2]))).resolves.toBe(3);
    await expect((await fetch(`http://127.0.0.1:${port}/nothing`)).status).toBe(404); // HTTP serves too
    const t0 = Date.now();
    await within(app.close(), CLOSE_TIMEOUT + 1000, 'app.close()');
    console.log(`[hybrid] app.close() with ${clients.length} clients connected took ${Date.now() - t0} ms`);
  });

  it('a stray upgrade on another path does not keep it from closing', async () => {
    const { app, port } = await startHybrid();
    const stray = new WebSocket(`ws://127.0.0.1:${port}/elsewhere`, ['nest-transports.ws.v1']);
    stray.on('error', () => undefined);
    const status = await within(new Promise<number>((r) => stray.once('unexpected-response', (_q, res) => r(res.statusCode ?? 0))), 3000, 'the answer');
    expect(status).toBe(404);
    stray.terminate();
    await within(app.close(), CLOSE_TIMEOUT + 1000, 'app.close()');
  });

  it('SIGTERM with enableShutdownHooks() ends the process within closeTimeout, clients connected', async () => {
    const server = await startServerProcess({ mode: 'hybrid', options: { closeTimeout: CLOSE_TIMEOUT } });
    cleanups.push(() => server.stop());
    const clients = Array.from({ length: 3 }, () => new WsClient({ url: server.url, reconnect: { enabled: false } }));
    cleanups.push(() => Promise.all(clients.map((c) => c.close())));
    for (const c of clients) await expect(firstValueFrom(c.send('sum', [2, 2]))).resolves.toBe(4);
    const t0 = Date.now();
    server.child.kill('SIGTERM');
    const exit = await within(server.exited, CLOSE_TIMEOUT + 2000, 'the process to exit after SIGTERM');
    console.log(`[hybrid] SIGTERM to exit with ${clients.length} clients connected: ${Date.now() - t0} ms`);
    expect(exit.signal ?? exit.code).toBeTruthy();
  });
});
