import { afterEach, describe, expect, it } from '@jest/globals';
import { firstValueFrom } from 'rxjs';
import { WebSocket } from 'ws';
import { WS_CLOSE_CODES, WS_SUBPROTOCOL } from '../src/index.js';
import { client, deferred, startApp, within } from './app.js';
import { TestController } from './handlers.js';

const MiB = 1024 * 1024;
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe('backpressure: a client that reads its replies is never dropped', () => {
  it.each([
    ['40 concurrent 1 MiB replies', 'blob', 40, MiB],
    ['100 concurrent 512 KiB replies from an async handler', 'async-blob', 100, 512 * 1024],
  ])('delivers %s with the default limits', async (_what, pattern, n, size) => {
    const started = await startApp([TestController]);
    cleanups.push(() => started.app.close());
    const dropped: number[] = [];
    started.server.on('disconnect', (_conn, code) => dropped.push(code));
    const ws = client(started.url, { reconnect: { enabled: false } });
    cleanups.push(() => ws.close());
    const results = await within(Promise.allSettled(Array.from({ length: n }, () => firstValueFrom(ws.send(pattern, size)))), 60_000, `${n} replies`);
    const delivered = results.filter((r) => r.status === 'fulfilled' && (r.value as string).length === size).length;
    console.log(`[backpressure] ${pattern}: ${delivered} of ${n} replies of ${size} bytes delivered; closes: ${dropped.join(', ') || 'none'}`);
    expect(delivered).toBe(n);
    expect(dropped).toEqual([]);
  });

  it('drops only a peer that stopped reading, with 1008, and keeps serving the others', async () => {
    const started = await startApp([TestController], { maxBufferedBytes: 256 * 1024, slowReaderTimeout: 300 });
    cleanups.push(() => started.app.close());
    const dropped = deferred<number>();
    started.server.on('disconnect', (_conn, code) => dropped.resolve(code));
    const reader = await pausedPeer(started.url);
    cleanups.push(async () => reader.terminate());
    // Replies to requests it sent but never reads: 1000 × 64 KiB, more than the kernel's socket buffers take.
    for (let i = 0; i < 1000; i++) reader.send(JSON.stringify({ id: String(i), pattern: 'blob', data: 64 * 1024 }));
    await expect(within(dropped.promise, 10_000, 'the slow reader to be dropped')).resolves.toBe(WS_CLOSE_CODES.POLICY_VIOLATION);
    const ws = client(started.url);
    cleanups.push(() => ws.close());
    await expect(firstValueFrom(ws.send('sum', [7]))).resolves.toBe(7);
  });
});

/** A raw peer whose TCP socket is paused: it sends, and reads nothing. */
async function pausedPeer(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, [WS_SUBPROTOCOL]);
  ws.on('error', () => undefined);
  await within(new Promise((r) => ws.once('open', r)), 2000, 'open');
  (ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
  return ws;
}
