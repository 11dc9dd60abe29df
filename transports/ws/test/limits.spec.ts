import { afterEach, describe, expect, it } from '@jest/globals';
import { connect, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { WS_SUBPROTOCOL } from '../src/index.js';
import { startApp, within } from './app.js';
import { TestController } from './handlers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function open(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url, [WS_SUBPROTOCOL]);
  socket.on('error', () => undefined);
  cleanups.push(() => socket.terminate());
  return within(new Promise((resolve, reject) => socket.once('open', () => resolve(socket)).once('error', reject)), 3000, 'open');
}

function tcp(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  cleanups.push(() => socket.destroy());
  return within(new Promise((resolve) => socket.once('connect', () => resolve(socket))), 3000, 'tcp connect');
}

describe('flood limits', () => {
  it('refuses upgrades past maxConnections with HTTP 503 and Retry-After, and accepts again once one closes', async () => {
    const started = await startApp([TestController], { maxConnections: 2 });
    cleanups.push(() => started.app.close());
    const first = await open(started.url);
    await open(started.url);
    const third = new WebSocket(started.url, [WS_SUBPROTOCOL]);
    third.on('error', () => undefined);
    const refused = await within(
      new Promise<{ status?: number; retry?: string }>((r) =>
        third.once('unexpected-response', (_q, res) => r({ status: res.statusCode, retry: res.headers['retry-after'] })),
      ),
      3000,
      'the refusal',
    );
    expect(refused).toEqual({ status: 503, retry: '1' });
    third.terminate();
    first.close();
    await within(new Promise((r) => first.once('close', r)), 3000, 'the first to close');
    await open(started.url);
  });

  it('destroys a TCP connection that does not complete a handshake within handshakeTimeout', async () => {
    const started = await startApp([TestController], { handshakeTimeout: 200 });
    cleanups.push(() => started.app.close());
    const silent = await tcp(started.port);
    const partial = await tcp(started.port);
    partial.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n'); // headers never finish
    const ended = (s: Socket) => new Promise((r) => s.once('close', r));
    await within(Promise.all([ended(silent), ended(partial)]), 3000, 'both sockets to be destroyed');
  });

  it('closes with 1008 a peer that leaves a frame unfinished past frameTimeout, others unaffected', async () => {
    const started = await startApp([TestController], { frameTimeout: 200 });
    cleanups.push(() => started.app.close());
    const staller = await open(started.url);
    const raw = (staller as unknown as { _socket: Socket })._socket;
    // A masked text frame header announcing 1000 bytes, then 10 of them, then nothing.
    raw.write(Buffer.concat([Buffer.from([0x81, 0xfe, 0x03, 0xe8, 1, 2, 3, 4]), Buffer.alloc(10, 0x61)]));
    const code = await within(new Promise<number>((r) => staller.once('close', (c) => r(c))), 5000, 'the close');
    expect(code).toBe(1008);
    const other = await open(started.url);
    const reply = within(new Promise((r) => other.once('message', (d) => r(JSON.parse(d.toString())))), 3000, 'a reply');
    other.send(JSON.stringify({ id: 'x', pattern: 'sum', data: [2] }));
    await expect(reply).resolves.toEqual({ id: 'x', response: 2, isDisposed: true });
  });
});
