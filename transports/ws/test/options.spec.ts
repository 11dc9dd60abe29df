import { describe, expect, it } from '@jest/globals';
import { createServer } from 'node:http';
import * as shared from '@nest-transports/shared';
import { InvalidOptionError } from '@nest-transports/shared';
import * as ws from '../src/index.js';
import { WsClient, WsServer } from '../src/index.js';

describe('the errors users catch', () => {
  it('are exported by the package, as the classes the transport throws, each with a stable code', () => {
    expect([ws.TransportError, ws.InvalidOptionError, ws.PayloadTooLargeError, ws.RequestTimeoutError]).toEqual([
      shared.TransportError,
      shared.InvalidOptionError,
      shared.PayloadTooLargeError,
      shared.RequestTimeoutError,
    ]);
    expect([ws.ConnectionClosedError, ws.BackendUnreachableError, ws.MalformedPacketError]).toEqual([
      shared.ConnectionClosedError,
      shared.BackendUnreachableError,
      shared.MalformedPacketError,
    ]);
    expect(() => new WsServer({ port: 0 }).unwrap()).toThrow(expect.objectContaining({ code: 'NOT_CONNECTED' }));
    expect(() => new WsClient({ url: 'ws://127.0.0.1:1' }).unwrap()).toThrow(expect.objectContaining({ code: 'NOT_CONNECTED' }));
  });
});

describe('option validation at construction', () => {
  it.each([
    [{ port: 70000 }, 'WsServer: option "port" is 70000. Use a whole number from 0 to 65535.'],
    [{ path: 'rpc' }, 'WsServer: option "path" is "rpc". Use a non-empty string matching /^\\//.'],
    [{ maxPayload: 0 }, 'option "maxPayload" is 0'],
    [{ heartbeatInterval: -1 }, 'option "heartbeatInterval" is -1'],
    [{ codec: 'xml' }, 'option "codec" is "xml". Use "json" (default), "msgpack"'],
    [{ subprotocol: 'has space' }, 'option "subprotocol" is "has space"'],
    [{ authenticate: 'yes' }, 'option "authenticate" is a string. Pass a function.'],
    [{ maxPayLoad: 5 }, 'option "maxPayLoad" is not an option of this transport'],
    [{ server: createServer(), port: 1 }, 'option "port" is set together with "server"'],
  ])('WsServer rejects %j', (options, message) => {
    expect(() => new WsServer(options as never)).toThrow(InvalidOptionError);
    expect(() => new WsServer(options as never)).toThrow(message);
  });

  it.each([
    [{}, 'WsClient: option "url" is missing. Pass the server address, e.g. { url: "ws://localhost:3001" }.'],
    [{ url: 'http://localhost:1' }, 'option "url" is "http://localhost:1". Use an absolute URL starting with ws:// or wss://.'],
    [{ url: 'ws://x', whileReconnecting: 'queue' }, 'option "whileReconnecting" is "queue". Use one of "wait", "fail".'],
    [{ url: 'ws://x', connectTimeout: 0 }, 'option "connectTimeout" is 0'],
    [{ url: 'ws://x', reconnect: { initialDelay: 0 } }, 'option "initialDelay" is 0'],
    [{ url: 'ws://x', reconnect: { maxAttempts: -2 } }, 'option "reconnect.maxAttempts" is -2'],
    [{ url: 'ws://x', token: 5 }, 'option "token" is a number'],
  ])('WsClient rejects %j', (options, message) => {
    expect(() => new WsClient(options as never)).toThrow(InvalidOptionError);
    expect(() => new WsClient(options as never)).toThrow(message);
  });

  it('accepts the defaults', () => {
    expect(() => new WsServer()).not.toThrow();
    expect(() => new WsClient({ url: 'wss://example.invalid/rpc', reconnect: { maxAttempts: Infinity } })).not.toThrow();
  });
});
