import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { firstValueFrom } from 'rxjs';
import { WebSocket } from 'ws';
import { WS_SUBPROTOCOL } from '../src/index.js';
import { client, startApp, within } from './app.js';
import { TestController } from './handlers.js';

type Closed = { code: number; reason: string };

function rawSocket(url: string): Promise<WebSocket> {
  const socket = new WebSocket(url, [WS_SUBPROTOCOL]);
  return within(new Promise((resolve, reject) => socket.once('open', () => resolve(socket)).once('error', reject)), 2000, 'raw socket open');
}

function closed(socket: WebSocket): Promise<Closed> {
  return new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

function nextMessage(socket: WebSocket): Promise<unknown> {
  return new Promise((resolve) => socket.once('message', (data) => resolve(JSON.parse(data.toString()))));
}

describe('hostile input', () => {
  let started: Awaited<ReturnType<typeof startApp>>;

  beforeAll(async () => {
    started = await startApp([TestController], { maxPayload: 64 * 1024 });
  });
  afterAll(() => started.app.close());

  it.each([
    ['not JSON', '{"id":"1","pattern":', 1007, /not valid JSON/],
    ['a packet without pattern or id', '{"data":1}', 1007, /without "pattern"/],
    ['a JSON scalar', '42', 1007, /without "pattern"/],
  ])('closes only the connection that sent %s, with a reasoned code', async (_what, frame, code, reason) => {
    const bystander = client(started.url);
    await bystander.connect();
    const socket = await rawSocket(started.url);
    const done = closed(socket);
    socket.send(frame);
    const result = await within(done, 2000, 'the close');
    expect(result.code).toBe(code);
    expect(result.reason).toMatch(reason);
    await expect(firstValueFrom(bystander.send('sum', [1, 1]))).resolves.toBe(2);
    await bystander.close();
  });

  it('closes a connection that sends a binary frame to a JSON server with 1003', async () => {
    const socket = await rawSocket(started.url);
    const done = closed(socket);
    socket.send(Buffer.from([0x82, 0xa2, 0x69, 0x64]));
    await expect(within(done, 2000, 'the close')).resolves.toMatchObject({ code: 1003, reason: expect.stringMatching(/binary frame on a json/) });
  });

  it('closes a connection that sends an oversized frame with 1009, others unaffected', async () => {
    const bystander = client(started.url);
    await bystander.connect();
    const socket = await rawSocket(started.url);
    socket.on('error', () => undefined);
    const done = closed(socket);
    socket.send(JSON.stringify({ pattern: 'echo', data: 'x'.repeat(70 * 1024), id: '1' }));
    await expect(within(done, 2000, 'the close')).resolves.toMatchObject({ code: 1009 });
    await expect(firstValueFrom(bystander.send('sum', [3]))).resolves.toBe(3);
    await bystander.close();
  });

  it('answers a request without a pattern with an error under its id and keeps the connection', async () => {
    const socket = await rawSocket(started.url);
    socket.send(JSON.stringify({ id: 'abc', data: 1 }));
    await expect(within(nextMessage(socket), 2000, 'the error reply')).resolves.toEqual({
      id: 'abc',
      err: { status: 'error', message: 'Malformed packet: it has no "pattern".' },
      isDisposed: true,
    });
    socket.send(JSON.stringify({ id: 'def', pattern: 'sum', data: [4, 5] }));
    await expect(within(nextMessage(socket), 2000, 'the reply')).resolves.toEqual({ id: 'def', response: 9, isDisposed: true });
    socket.close();
  });

  it('refuses a client without the subprotocol with HTTP 400 naming it', async () => {
    const socket = new WebSocket(started.url);
    socket.on('error', () => undefined);
    const status = await within(
      new Promise<number>((resolve) => socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))),
      2000,
      'the refusal',
    );
    expect(status).toBe(400);
    socket.terminate();
  });

  it('survives 1,200 random and malformed frames, then serves a well-formed request from another client', async () => {
    const frame = fc.oneof(
      fc.string(),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.record({ id: fc.oneof(fc.string(), fc.integer(), fc.constant(null)), pattern: fc.anything(), data: fc.anything() }).map((v) => {
        try {
          return JSON.stringify(v);
        } catch {
          return '{';
        }
      }),
      fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b)),
      fc.constantFrom('{"pattern":{"__proto__":{"polluted":1}},"data":1}', '{"id":"x","pattern":"sum","data":"not-an-array"}', '[]', 'null', '""'),
    );
    const frames = fc.sample(frame, { numRuns: 1200, seed: 42 });
    let socket = await rawSocket(started.url);
    let reopened = 0;
    let answered = 0;
    for (const [i, payload] of frames.entries()) {
      if (socket.readyState !== WebSocket.OPEN) {
        socket = await rawSocket(started.url);
        reopened++;
      }
      socket.on('error', () => undefined);
      // A probe after each frame: either the connection survived (the probe is answered) or it was closed.
      const probeId = `probe-${i}`;
      const outcome = new Promise<'answered' | 'closed'>((resolve) => {
        const onMessage = (data: Buffer) => {
          if (data.toString().includes(`"${probeId}"`)) done('answered');
        };
        const done = (result: 'answered' | 'closed') => {
          socket.off('message', onMessage);
          resolve(result);
        };
        socket.on('message', onMessage);
        socket.once('close', () => done('closed'));
      });
      socket.send(payload);
      socket.send(JSON.stringify({ id: probeId, pattern: 'sum', data: [1] }));
      if ((await within(outcome, 2000, `the probe after frame ${i}`)) === 'answered') answered++;
    }
    socket.terminate();
    expect(reopened).toBeGreaterThan(10);
    expect(answered).toBeGreaterThan(10);
    expect(answered + reopened).toBeGreaterThanOrEqual(frames.length - 1);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const other = client(started.url);
    try {
      await expect(firstValueFrom(other.send('sum', [40, 2]))).resolves.toBe(42);
    } finally {
      await other.close();
    }
  });
});
