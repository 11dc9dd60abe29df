import { afterEach, describe, expect, it } from '@jest/globals';
import { createServer } from 'node:net';
import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { WebSocket } from 'ws';
import { WS_SUBPROTOCOL, WsClient } from '../src/index.js';
import { client, deferred, scaled, startApp, within } from './app.js';
import { seen, TestController } from './handlers.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
const track = <T extends { close(): unknown }>(x: T) => (cleanups.push(async () => x.close()), x);

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as { port: number };
  await new Promise((r) => probe.close(r));
  return port;
}

describe('client and server lifecycle', () => {
  it('reports status connected → disconnected on both ends', async () => {
    const started = await startApp([TestController]);
    const serverStates: string[] = [];
    started.server.status.subscribe((s) => serverStates.push(s));
    const ws = client(started.url);
    const clientStates: string[] = [];
    ws.status.subscribe((s) => clientStates.push(s));
    await ws.connect();
    await ws.close();
    await started.app.close();
    expect(clientStates).toEqual(['connected', 'disconnected']);
    expect(serverStates).toEqual(['connected', 'disconnected']);
  });

  it('fails clearly and quickly when nothing listens, and reports it to the caller', async () => {
    const port = await freePort();
    const ws = track(client(`ws://127.0.0.1:${port}`, { connectTimeout: 1000 }));
    const started = Date.now();
    await expect(firstValueFrom(ws.send('sum', [1]))).rejects.toThrow(`WsClient: cannot reach ws://127.0.0.1:${port}: connect ECONNREFUSED`);
    expect(Date.now() - started).toBeLessThan(scaled(1000));
  });

  it('fails within connectTimeout when the peer accepts TCP but never answers the handshake', async () => {
    const accepted: import('node:net').Socket[] = [];
    const silent = createServer((socket) => accepted.push(socket));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise((r) => (silent.close(r), accepted.forEach((s) => s.destroy()))));
    const { port } = silent.address() as { port: number };
    const ws = track(client(`ws://127.0.0.1:${port}`, { connectTimeout: 300 }));
    const started = Date.now();
    await expect(ws.connect()).rejects.toThrow(/cannot reach .*(timed out|no answer within 300 ms)/);
    expect(Date.now() - started).toBeLessThan(scaled(1500));
  });

  it('rejects app.listen() when the port is taken', async () => {
    const first = await startApp([TestController]);
    cleanups.push(() => first.app.close());
    await expect(startApp([TestController], { port: first.port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('lets the client send before the server listens: the first send fails clearly, a later one connects', async () => {
    const port = await freePort();
    const ws = track(client(`ws://127.0.0.1:${port}`));
    await expect(firstValueFrom(ws.send('sum', [1]))).rejects.toThrow(/ECONNREFUSED/);
    const started = await startApp([TestController], { port });
    cleanups.push(() => started.app.close());
    await expect(firstValueFrom(ws.send('sum', [1, 1]))).resolves.toBe(2);
  });

  it('fails in-flight requests when the connection drops, reconnects with backoff after a server restart', async () => {
    const first = await startApp([TestController], { closeTimeout: 50 });
    const ws = track(client(first.url, { reconnect: { initialDelay: 20, maxDelay: 200 } }));
    const reconnecting = deferred<number>();
    ws.on('reconnecting', (attempt) => reconnecting.resolve(attempt));
    await expect(firstValueFrom(ws.send('sum', [1]))).resolves.toBe(1);
    seen.slowStarted = 0;
    const inFlight = firstValueFrom(ws.send('slow', 5000)).catch((e) => e);
    // Running on the server, not only sent: a request that reaches a closing server is refused instead.
    await within(
      waitFor(() => seen.slowStarted === 1),
      5000,
      'the slow handler running',
    );
    await first.app.close(); // waits closeTimeout (50 ms) for the slow handler, then closes the connection
    const err = await within(inFlight, 2000, 'the in-flight failure');
    expect(err).toMatchObject({ code: expect.stringMatching(/CONNECTION_CLOSED/) });
    await within(reconnecting.promise, 2000, 'a reconnect attempt');
    const second = await startApp([TestController], { port: first.port });
    cleanups.push(() => second.app.close());
    await expect(within(firstValueFrom(ws.send('sum', [2, 3])), 5000, 'a reply after restart')).resolves.toBe(5);
  });

  it('fails sends at once while reconnecting when whileReconnecting is "fail"', async () => {
    const first = await startApp([TestController]);
    const ws = track(client(first.url, { whileReconnecting: 'fail', reconnect: { initialDelay: 5000, maxDelay: 5000 } }));
    await ws.connect();
    const dropped = deferred();
    ws.on('close', () => dropped.resolve());
    await first.app.close();
    await within(dropped.promise, 2000, 'the drop');
    await expect(firstValueFrom(ws.send('sum', [1]))).rejects.toThrow('WsClient: reconnecting to');
  });

  it('graceful close: in-flight handlers finish and their replies arrive; new connections are refused', async () => {
    const started = await startApp([TestController]);
    const ws = track(client(started.url, { reconnect: { enabled: false } }));
    await ws.connect();
    seen.slowStarted = 0;
    const replies = Promise.all([150, 200, 250].map((ms) => firstValueFrom(ws.send('slow', ms))));
    // In flight on the server: a request that arrives once close() has begun is refused, not run.
    await within(
      waitFor(() => seen.slowStarted === 3),
      5000,
      'three requests in flight',
    );
    const closing = started.app.close();
    await within(
      waitFor(() => started.server.address === null),
      2000,
      'the server to stop accepting',
    );
    const late = track(client(started.url, { reconnect: { enabled: false } }));
    await expect(late.connect()).rejects.toThrow(/cannot reach/);
    await expect(within(replies, 3000, 'the replies')).resolves.toEqual(['slept 150', 'slept 200', 'slept 250']);
    await closing;
    expect(started.server.connectionCount).toBe(0);
  });

  it('drops a peer that stops answering pings', async () => {
    const started = await startApp([TestController], { heartbeatInterval: 50 });
    cleanups.push(() => started.app.close());
    const mute = new WebSocket(started.url, [WS_SUBPROTOCOL], { autoPong: false });
    await within(new Promise((r) => mute.once('open', r)), 2000, 'open');
    const closed = new Promise<number>((r) => mute.once('close', (code) => r(code)));
    await expect(within(closed, 2000, 'the drop')).resolves.toBe(1006);
  });

  it('stops reading from a peer that does not read its replies, so its queue stays bounded', async () => {
    const maxBufferedBytes = 256 * 1024;
    const started = await startApp([TestController], { maxBufferedBytes });
    cleanups.push(() => started.app.close());
    const serverSide = deferred<WebSocket>();
    started.server.on('connection', (conn) => serverSide.resolve(conn.socket));
    const reader = await pausedReader(started.url);
    const big = 'x'.repeat(60 * 1024);
    for (let i = 0; i < 300; i++) reader.ws.send(JSON.stringify({ id: String(i), pattern: 'echo', data: big }));
    const socket = await serverSide.promise;
    await within(
      waitFor(() => socket.isPaused),
      5000,
      'the server to pause reading that peer',
    );
    // Paused: nothing more is read, so the queue cannot grow past the reply being written.
    expect(socket.bufferedAmount).toBeLessThanOrEqual(maxBufferedBytes + big.length + 1024);
    reader.resume();
    const replies = await within(reader.count(300), 10000, 'all 300 replies once the peer reads');
    expect(replies).toBe(300);
    reader.ws.terminate();
  });

  it('drops a peer whose unread replies pass maxBufferedBytes (an endless stream), others unaffected', async () => {
    const started = await startApp([TestController], { maxBufferedBytes: 256 * 1024 });
    cleanups.push(() => started.app.close());
    const reader = await pausedReader(started.url);
    const dropped = deferred<number>();
    started.server.on('disconnect', (_conn, code) => dropped.resolve(code));
    reader.ws.send(JSON.stringify({ id: 'flood', pattern: 'flood', data: { n: 2000, size: 64 * 1024 } }));
    await within(dropped.promise, 10000, 'the server to drop the slow reader');
    const ws = track(client(started.url));
    await expect(firstValueFrom(ws.send('sum', [7]))).resolves.toBe(7);
    reader.ws.terminate();
  });

  it('keeps streams ordered under load; taking part of a stream drops the rest', async () => {
    const started = await startApp([TestController]);
    cleanups.push(() => started.app.close());
    const ws: WsClient = track(client(started.url));
    const streams = await Promise.all(Array.from({ length: 20 }, () => lastValueFrom(ws.send('stream', 100).pipe(toArray()))));
    for (const values of streams) expect(values).toEqual(Array.from({ length: 100 }, (_, i) => i));
    await expect(firstValueFrom(ws.send('ticks', 50).pipe(take(3), toArray()))).resolves.toEqual([0, 10, 20]);
    expect(ws.inFlight).toBe(0);
  });
});

/** A raw client whose TCP socket is paused: it reads nothing until `resume()`. */
async function pausedReader(url: string) {
  const ws = new WebSocket(url, [WS_SUBPROTOCOL]);
  ws.on('error', () => undefined);
  await within(new Promise((r) => ws.once('open', r)), 2000, 'open');
  const tcp = (ws as unknown as { _socket: import('node:net').Socket })._socket;
  tcp.pause();
  let received = 0;
  ws.on('message', () => received++);
  return {
    ws,
    resume: () => tcp.resume(),
    count: async (n: number) => {
      await waitFor(() => received >= n);
      return received;
    },
  };
}

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 5));
}
