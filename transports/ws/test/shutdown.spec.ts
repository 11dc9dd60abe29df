import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { firstValueFrom } from 'rxjs';
import { WebSocket } from 'ws';
import { WsBrowserClient, WsBrowserError } from '../browser/index.js';
import { SERVER_SHUTTING_DOWN, ServerShuttingDownError, WS_SUBPROTOCOL } from '../src/index.js';
import { client, scaled, startApp, within } from './app.js';
import { seen, TestController } from './handlers.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
beforeEach(() => {
  seen.counted = 0;
  seen.slowStarted = 0;
  seen.slowEvents = { started: 0, finished: 0 };
});

async function waitFor(condition: () => boolean, ms: number, what: string): Promise<void> {
  await within(
    (async () => {
      while (!condition()) await new Promise((r) => setTimeout(r, 5));
    })(),
    ms,
    what,
  );
}

describe('close(): nothing new runs once it has begun', () => {
  it('answers a request that arrives while draining with SERVER_SHUTTING_DOWN at once, without running it', async () => {
    const started = await startApp([TestController], { closeTimeout: 5000 });
    const ws = client(started.url, { reconnect: { enabled: false } });
    cleanups.push(() => ws.close());
    await ws.connect();
    const settled: string[] = [];
    const slow = firstValueFrom(ws.send('slow', 1000)).finally(() => settled.push('slow'));
    await waitFor(() => seen.slowStarted === 1, 2000, 'the slow handler to start');
    const closing = started.server.close(); // app.close() would reach it a few ticks later
    cleanups.push(() => started.app.close());
    const refused = await firstValueFrom(ws.send('count', {})).catch((e: unknown) => e);
    expect(settled).toEqual([]); // refused at once, while the request in flight still runs
    expect(refused).toBeInstanceOf(ServerShuttingDownError);
    expect(refused).toMatchObject({ code: SERVER_SHUTTING_DOWN });
    expect(seen.counted).toBe(0);
    await expect(slow).resolves.toBe('slept 1000'); // the request in flight finished and was answered
    await closing;
    expect(seen.counted).toBe(0);
  });

  it('fails a request that reaches the server after its connections began closing with ServerShuttingDownError too', async () => {
    const started = await startApp([TestController]);
    const ws = client(started.url, { reconnect: { enabled: false } });
    cleanups.push(() => ws.close());
    await ws.connect();
    const closing = started.server.close();
    cleanups.push(() => started.app.close());
    const refused = await firstValueFrom(ws.send('count', {})).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ServerShuttingDownError);
    await closing;
    expect(seen.counted).toBe(0);
  });

  it('sends the documented reply frame to a raw peer', async () => {
    const started = await startApp([TestController], { closeTimeout: 5000 });
    const socket = new WebSocket(started.url, [WS_SUBPROTOCOL]);
    await within(new Promise((r) => socket.once('open', r)), 2000, 'open');
    socket.send(JSON.stringify({ id: 'a', pattern: 'slow', data: 300 }));
    const replies: unknown[] = [];
    socket.on('message', (data) => replies.push(JSON.parse(data.toString())));
    await waitFor(() => seen.slowStarted === 1, 2000, 'the slow handler to start');
    const closing = started.server.close();
    cleanups.push(() => started.app.close());
    socket.send(JSON.stringify({ id: 7, pattern: 'count', data: null }));
    await waitFor(() => replies.length >= 1, 1000, 'the refusal');
    expect(replies[0]).toEqual({
      id: '7',
      err: { status: 'error', code: 'SERVER_SHUTTING_DOWN', message: 'The server is shutting down; the request was not run. Retry it on another server.' },
      isDisposed: true,
    });
    const closed = new Promise<number>((r) => socket.once('close', (code) => r(code)));
    await closing;
    expect(replies[1]).toEqual({ id: 'a', response: 'slept 300', isDisposed: true });
    await expect(within(closed, 2000, 'the close')).resolves.toBe(1001);
    expect(seen.counted).toBe(0);
  });

  it('the browser client reports it as WsBrowserError SERVER_SHUTTING_DOWN', async () => {
    const started = await startApp([TestController], { closeTimeout: 5000 });
    const browser = new WsBrowserClient({ url: started.url, WebSocket: WebSocket as unknown as typeof globalThis.WebSocket, reconnect: { enabled: false } });
    cleanups.push(async () => browser.close());
    const slow = browser.send('slow', 300);
    await waitFor(() => seen.slowStarted === 1, 2000, 'the slow handler to start');
    const closing = started.server.close();
    cleanups.push(() => started.app.close());
    const refused = await browser.send('count', {}).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(WsBrowserError);
    expect(refused).toMatchObject({ code: 'SERVER_SHUTTING_DOWN' });
    await expect(slow).resolves.toBe('slept 300');
    await closing;
    expect(seen.counted).toBe(0);
  });
});

describe('close() waits for event handlers', () => {
  it('resolves only after 100 event handlers of 500 ms have finished', async () => {
    const started = await startApp([TestController], { closeTimeout: 10_000 });
    const ws = client(started.url, { reconnect: { enabled: false } });
    cleanups.push(() => ws.close());
    await ws.connect();
    await Promise.all(Array.from({ length: 100 }, () => firstValueFrom(ws.emit('slow-event', 500))));
    await waitFor(() => seen.slowEvents.started === 100, 5000, 'the 100 handlers to start');
    await started.app.close();
    expect(seen.slowEvents.finished).toBe(100);
  });

  it('stops waiting at closeTimeout', async () => {
    const started = await startApp([TestController], { closeTimeout: 200 });
    const ws = client(started.url, { reconnect: { enabled: false } });
    cleanups.push(() => ws.close());
    await firstValueFrom(ws.emit('slow-event', 1500));
    await waitFor(() => seen.slowEvents.started === 1, 5000, 'the handler to start');
    const t0 = Date.now();
    await started.app.close();
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(scaled(3000)); // closeTimeout plus the close handshake, with room for a busy machine
    expect(seen.slowEvents.finished).toBe(0);
    await waitFor(() => seen.slowEvents.finished === 1, 5000, 'the cut-off handler to end'); // leaves no timer behind
  });
});

describe('close() during a pending connect() leaks no socket', () => {
  it('WsClient: connect(); close(); connect() leaves one connection, and none after close()', async () => {
    const started = await startApp([TestController]);
    cleanups.push(() => started.app.close());
    const ws = client(started.url);
    const first = ws.connect().catch((e: unknown) => e);
    await ws.close();
    const second = ws.connect();
    await expect(first).resolves.toMatchObject({ code: 'CONNECTION_CLOSED' });
    await second;
    await expect(firstValueFrom(ws.send('sum', [1, 2]))).resolves.toBe(3);
    // A leaked socket would be a second connection that the server keeps.
    await new Promise((r) => setTimeout(r, 100));
    expect(started.server.connectionCount).toBe(1);
    await ws.close();
    await waitFor(() => started.server.connectionCount === 0, 2000, 'every connection to close');
  });

  it('WsBrowserClient: connect(); close(); connect() leaves one connection, and none after close()', async () => {
    const started = await startApp([TestController]);
    cleanups.push(() => started.app.close());
    const browser = new WsBrowserClient({ url: started.url, WebSocket: WebSocket as unknown as typeof globalThis.WebSocket });
    const first = browser.connect().catch((e: unknown) => e);
    browser.close();
    const second = browser.connect();
    await expect(first).resolves.toMatchObject({ code: 'CLIENT_CLOSED' });
    await second;
    await expect(browser.send('sum', [1, 2])).resolves.toBe(3);
    await new Promise((r) => setTimeout(r, 100));
    expect(started.server.connectionCount).toBe(1);
    browser.close();
    await waitFor(() => started.server.connectionCount === 0, 2000, 'every connection to close');
  });
});
