import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { pack, unpack } from 'msgpackr';
import { WebSocket } from 'ws';
import { startApp, within } from './app.js';
import { seen, TestController } from './handlers.js';

/** The frames of the README's "Wire protocol" section, sent as written over a raw socket. */
function open(url: string, protocols = ['nest-transports.ws.v1']): Promise<WebSocket> {
  const socket = new WebSocket(url, protocols);
  socket.on('error', () => undefined);
  return within(new Promise((resolve, reject) => socket.once('open', () => resolve(socket)).once('error', reject)), 3000, 'open');
}

function frames(socket: WebSocket, n: number, decode = (d: Buffer) => JSON.parse(d.toString()) as unknown): Promise<unknown[]> {
  const got: unknown[] = [];
  return within(
    new Promise((resolve) => {
      const on = (data: Buffer) => {
        got.push(decode(data));
        if (got.length === n) {
          socket.off('message', on);
          resolve(got);
        }
      };
      socket.on('message', on);
    }),
    3000,
    `${n} frame(s)`,
  );
}

function closeCode(socket: WebSocket): Promise<number> {
  return within(new Promise((resolve) => socket.once('close', (code) => resolve(code))), 3000, 'the close');
}

describe('wire protocol, as the package README documents it', () => {
  let json: Awaited<ReturnType<typeof startApp>>;
  let msgpack: Awaited<ReturnType<typeof startApp>>;
  const sockets: WebSocket[] = [];
  const raw = async (url: string) => {
    const socket = await open(url);
    sockets.push(socket);
    return socket;
  };

  beforeAll(async () => {
    json = await startApp([TestController]);
    msgpack = await startApp([TestController], { codec: 'msgpack' });
  });
  afterAll(async () => {
    for (const s of sockets) s.terminate();
    await json.app.close();
    await msgpack.app.close();
  });

  it('request → reply; numeric ids come back as strings', async () => {
    const socket = await raw(json.url);
    const replies = frames(socket, 2);
    socket.send('{"id":"r1","pattern":"sum","data":[1,2,3]}');
    socket.send('{"id":7,"pattern":"sum","data":[1]}');
    await expect(replies).resolves.toEqual([
      { id: 'r1', response: 6, isDisposed: true },
      { id: '7', response: 1, isDisposed: true },
    ]);
  });

  it('object patterns in either spelling and key order', async () => {
    const socket = await raw(json.url);
    const replies = frames(socket, 2);
    socket.send('{"id":"o1","pattern":{"v":2,"cmd":"sum"},"data":[1,2]}');
    socket.send('{"id":"o2","pattern":"{\\"cmd\\":\\"sum\\",\\"v\\":2}","data":[1,2]}');
    await expect(replies).resolves.toEqual([
      { id: 'o1', response: 6, isDisposed: true },
      { id: 'o2', response: 6, isDisposed: true },
    ]);
  });

  it('a stream: one frame per value; the last one (or a frame of its own) says isDisposed', async () => {
    const socket = await raw(json.url);
    const got: Array<{ id: string; response?: unknown; isDisposed: boolean }> = [];
    const done = within(
      new Promise<void>((resolve) =>
        socket.on('message', (data) => {
          const reply = JSON.parse(data.toString());
          got.push(reply);
          if (reply.isDisposed) resolve();
        }),
      ),
      3000,
      'the end of the stream',
    );
    socket.send('{"id":"s1","pattern":"stream","data":3}');
    await done;
    expect(got.every((r) => r.id === 's1')).toBe(true);
    expect(got.filter((r) => 'response' in r).map((r) => r.response)).toEqual([0, 1, 2]);
    expect(got.slice(0, -1).every((r) => !r.isDisposed)).toBe(true);
  });

  it('errors: RpcException, internal error, unknown pattern, no pattern', async () => {
    const socket = await raw(json.url);
    const replies = frames(socket, 4);
    socket.send('{"id":"e1","pattern":"rpc-error","data":null}');
    socket.send('{"id":"e2","pattern":"plain-error","data":null}');
    socket.send('{"id":"e3","pattern":"nope","data":null}');
    socket.send('{"id":"e4","data":1}');
    const got = (await replies) as Array<{ id: string }>;
    const byId = Object.fromEntries(got.map((r) => [r.id, r]));
    expect(byId.e1).toEqual({ id: 'e1', err: { code: 'E_DECLINED', detail: { amount: 5 } }, isDisposed: true });
    expect(byId.e2).toEqual({ id: 'e2', err: { status: 'error', message: 'Internal server error' }, isDisposed: true });
    expect(byId.e3).toEqual({ id: 'e3', status: 'error', err: 'There is no matching message handler defined in the remote service.', isDisposed: true });
    expect(byId.e4).toEqual({ id: 'e4', err: { status: 'error', message: 'Malformed packet: it has no "pattern".' }, isDisposed: true });
  });

  it('events: no id or "id": null runs every handler and answers nothing', async () => {
    seen.events.length = 0;
    seen.second.length = 0;
    const socket = await raw(json.url);
    const replies = frames(socket, 1);
    socket.send('{"pattern":"recorded","data":{"orderId":42}}');
    socket.send('{"id":null,"pattern":"recorded","data":{"orderId":43}}');
    socket.send('{"id":"after","pattern":"sum","data":[5]}');
    await expect(replies).resolves.toEqual([{ id: 'after', response: 5, isDisposed: true }]);
    expect(seen.events).toEqual([{ orderId: 42 }, { orderId: 43 }]);
    expect(seen.second).toEqual([{ orderId: 42 }, { orderId: 43 }]);
  });

  it('metadata: string values reach the handler, others are dropped', async () => {
    const socket = await raw(json.url);
    const replies = frames(socket, 1);
    socket.send('{"id":"m1","pattern":"context","data":{},"metadata":{"tenant":"acme","n":5}}');
    await expect(replies).resolves.toEqual([expect.objectContaining({ id: 'm1', response: expect.objectContaining({ metadata: { tenant: 'acme' } }) })]);
  });

  it.each([
    ['an id of the wrong type', '{"id":[1],"pattern":"sum","data":[1]}', 1007],
    ['no pattern and no id', '{"data":1}', 1007],
    ['not JSON', '{"id":', 1007],
  ])('closes the connection for %s with %i', async (_what, frame, code) => {
    const socket = await raw(json.url);
    const closed = closeCode(socket);
    socket.send(frame);
    await expect(closed).resolves.toBe(code);
  });

  it('closes with 1003 for a binary frame on a JSON server', async () => {
    const socket = await raw(json.url);
    const closed = closeCode(socket);
    socket.send(pack({ id: 'b', pattern: 'sum', data: [1] }));
    await expect(closed).resolves.toBe(1003);
  });

  it('MessagePack: binary frames, the same packet shapes', async () => {
    const socket = await raw(msgpack.url);
    const replies = frames(socket, 2, (d) => unpack(d));
    socket.send(pack({ id: 'p1', pattern: 'sum', data: [1, 2, 3] }));
    socket.send(pack({ id: 9, pattern: { v: 2, cmd: 'sum' }, data: [1] }));
    await expect(replies).resolves.toEqual([
      { id: 'p1', response: 6, isDisposed: true },
      { id: '9', response: 2, isDisposed: true },
    ]);
  });

  it('refuses a handshake without the subprotocol with HTTP 400', async () => {
    const socket = new WebSocket(json.url);
    socket.on('error', () => undefined);
    const status = await within(
      new Promise<number>((resolve) => socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))),
      3000,
      'the refusal',
    );
    expect(status).toBe(400);
    socket.terminate();
  });
});
