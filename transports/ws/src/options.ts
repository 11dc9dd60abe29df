import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer, ServerOptions as HttpsServerOptions } from 'node:https';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import type { Deserializer, Serializer } from '@nestjs/microservices';
import { type CodecOption, resolveCodec, validateOptions } from '@nest-transports/shared';

/** The subprotocol both ends agree on; it names the wire format's version. */
export const WS_SUBPROTOCOL = 'nest-transports.ws.v1';

/**
 * What an authentication hook returns for an accepted connection (anything but `false`,
 * available later as `WsContext#getAuth()`); `false` or a throw refuses it with HTTP 401.
 */
export type WsAuthenticate = (request: IncomingMessage) => unknown | Promise<unknown>;

export interface WsServerOptions {
  /** Interface to bind when standalone. Default `'localhost'` (as Nest's TCP transport). */
  host?: string;
  /** Port to bind when standalone; `0` picks a free one (see `WsServer#address`). Default `3001`. */
  port?: number;
  /**
   * An existing `http`/`https` server to attach to instead of listening (hybrid apps share
   * the HTTP port). Only upgrades on `path` are taken; the server's own `listen()` is yours.
   */
  server?: HttpServer | HttpsServer;
  /** Only upgrade requests for this path are accepted. Default: any path standalone, `'/'` attached. */
  path?: string;
  /** TLS options (`key`, `cert`, …) to serve `wss://` standalone. Default: none (`ws://`). */
  tls?: HttpsServerOptions;
  /** Runs on each upgrade request before the connection opens. Default: none (all accepted). */
  authenticate?: WsAuthenticate;
  /** Largest frame accepted, in bytes; larger ones close the connection with 1009. Default 1 MiB. */
  maxPayload?: number;
  /**
   * Unsent reply bytes per connection. Above half of it the server stops reading that
   * connection's requests (replies to requests already read are still sent). A connection
   * above all of it whose replies have not moved for `slowReaderTimeout` is a peer that stopped
   * reading: it is closed with 1008. Default 16 MiB.
   */
  maxBufferedBytes?: number;
  /** How long unsent replies above `maxBufferedBytes` may stay without progress before the peer is dropped (1008). Default 5000 ms. */
  slowReaderTimeout?: number;
  /** Open connections (plus handshakes under way) past which upgrades are refused with HTTP 503. Default 10000. */
  maxConnections?: number;
  /**
   * Time from the TCP connection (standalone) or the upgrade request (attached) to an open
   * WebSocket, `authenticate` included; past it the socket is destroyed. Default 5000 ms.
   */
  handshakeTimeout?: number;
  /** Time a peer has to finish a frame it started sending; past it the connection is closed with 1008. Default 10000 ms. */
  frameTimeout?: number;
  /** Ping interval in ms; a peer that has not answered the previous ping is dropped. `0` disables. Default 30000. */
  heartbeatInterval?: number;
  /**
   * How long `close()` waits for in-flight request and event handlers before closing the
   * connections (then at most a second more for the close handshake). Default 10000 ms.
   */
  closeTimeout?: number;
  /** `'json'` (text frames, default), `'msgpack'` (binary frames) or a custom `Codec`. Must match the clients'. */
  codec?: CodecOption;
  /** Subprotocol clients must offer. Default `WS_SUBPROTOCOL`. */
  subprotocol?: string;
  /** permessage-deflate compression. Default `false` (it costs CPU per frame). */
  perMessageDeflate?: boolean;
  serializer?: Serializer;
  deserializer?: Deserializer;
}

export interface WsReconnectOptions {
  /** Reconnect after an unexpected drop. Default `true`. */
  enabled?: boolean;
  /** First delay in ms. Default 100. */
  initialDelay?: number;
  /** Largest delay in ms. Default 5000. */
  maxDelay?: number;
  /** Give up after this many failed attempts in a row. Default `Infinity`. */
  maxAttempts?: number;
}

export interface WsClientOptions {
  /** `ws://host:port/path` or `wss://…`. Required. */
  url: string;
  /** Extra handshake headers. Default none. */
  headers?: Record<string, string>;
  /** Sent as `Authorization: Bearer <token>` on every handshake; a function is called per (re)connect. */
  token?: string | (() => string | Promise<string>);
  /** TLS options for `wss://` (e.g. `ca`, `rejectUnauthorized`). Default: Node's. */
  tls?: TlsConnectionOptions;
  /** Bound on opening the connection, in ms; past it `connect()` fails clearly. Default 5000. */
  connectTimeout?: number;
  /** Default timeout of each `send()`, in ms; `0` means none (use rxjs `timeout()`). Default 0. */
  requestTimeout?: number;
  reconnect?: WsReconnectOptions;
  /**
   * What `send()`/`emit()` do while the connection is being re-established:
   * `'wait'` (up to `connectTimeout`, then fail) or `'fail'` at once. Default `'wait'`.
   */
  whileReconnecting?: 'wait' | 'fail';
  /** Ping interval in ms to detect a dead server; `0` disables. Default 30000. */
  heartbeatInterval?: number;
  /**
   * Largest message this client sends, in bytes; a larger one fails with `PayloadTooLargeError`
   * before anything is sent. Keep it at or below the server's `maxPayload`. Default 1 MiB.
   */
  maxPayload?: number;
  /** Largest frame accepted from the server (replies), in bytes. Default 64 MiB. */
  maxReplyPayload?: number;
  codec?: CodecOption;
  subprotocol?: string;
  perMessageDeflate?: boolean;
  serializer?: Serializer;
  deserializer?: Deserializer;
}

const MiB = 1024 * 1024;

export const WS_SERVER_DEFAULTS = {
  host: 'localhost',
  port: 3001,
  maxPayload: MiB,
  maxBufferedBytes: 16 * MiB,
  slowReaderTimeout: 5000,
  maxConnections: 10_000,
  handshakeTimeout: 5000,
  frameTimeout: 10_000,
  heartbeatInterval: 30_000,
  closeTimeout: 10_000,
  subprotocol: WS_SUBPROTOCOL,
  perMessageDeflate: false,
} as const;

export const WS_CLIENT_DEFAULTS = {
  connectTimeout: 5000,
  requestTimeout: 0,
  whileReconnecting: 'wait',
  heartbeatInterval: 30_000,
  maxPayload: MiB,
  maxReplyPayload: 64 * MiB,
  subprotocol: WS_SUBPROTOCOL,
  perMessageDeflate: false,
  reconnect: { enabled: true, initialDelay: 100, maxDelay: 5000, maxAttempts: Infinity },
} as const;

const SERVER_KEYS = [
  'host',
  'port',
  'server',
  'path',
  'tls',
  'authenticate',
  'maxPayload',
  'maxBufferedBytes',
  'slowReaderTimeout',
  'maxConnections',
  'handshakeTimeout',
  'frameTimeout',
  'heartbeatInterval',
  'closeTimeout',
  'codec',
  'subprotocol',
  'perMessageDeflate',
  'serializer',
  'deserializer',
] as const;
const CLIENT_KEYS = [
  'url',
  'headers',
  'token',
  'tls',
  'connectTimeout',
  'requestTimeout',
  'reconnect',
  'whileReconnecting',
  'heartbeatInterval',
  'maxPayload',
  'maxReplyPayload',
  'codec',
  'subprotocol',
  'perMessageDeflate',
  'serializer',
  'deserializer',
] as const;
const SUBPROTOCOL = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function resolveServerOptions(options: WsServerOptions = {}) {
  validateOptions('WsServer', options)
    .known(SERVER_KEYS)
    .string('host')
    .integer('port', { min: 0, max: 65535 })
    .string('path', { pattern: /^\// })
    .func('authenticate')
    .integer('maxPayload', { min: 1 })
    .integer('maxBufferedBytes', { min: 1024 })
    .integer('slowReaderTimeout', { min: 1 })
    .integer('maxConnections', { min: 1 })
    .integer('handshakeTimeout', { min: 1 })
    .integer('frameTimeout', { min: 1 })
    .integer('heartbeatInterval', { min: 0 })
    .integer('closeTimeout', { min: 0 })
    .string('subprotocol', { pattern: SUBPROTOCOL })
    .boolean('perMessageDeflate')
    .check(
      !(options.server && options.tls),
      'tls',
      'is set together with "server"',
      'Give TLS options to your https server instead, or drop "server" to serve wss:// standalone.',
    )
    .check(
      !(options.server && options.port !== undefined),
      'port',
      'is set together with "server"',
      'An attached server listens on the HTTP server\'s port: drop "port".',
    );
  return {
    ...WS_SERVER_DEFAULTS,
    ...options,
    path: options.path ?? (options.server ? '/' : undefined),
    codec: resolveCodec('WsServer', options.codec),
  };
}

export function resolveClientOptions(options: WsClientOptions) {
  validateOptions('WsClient', options ?? ({} as WsClientOptions))
    .check(options?.url !== undefined, 'url', 'is missing', 'Pass the server address, e.g. { url: "ws://localhost:3001" }.')
    .known(CLIENT_KEYS)
    .url('url', ['ws', 'wss'])
    .integer('connectTimeout', { min: 1 })
    .integer('requestTimeout', { min: 0 })
    .oneOf('whileReconnecting', ['wait', 'fail'])
    .integer('heartbeatInterval', { min: 0 })
    .integer('maxPayload', { min: 1 })
    .integer('maxReplyPayload', { min: 1 })
    .string('subprotocol', { pattern: SUBPROTOCOL })
    .boolean('perMessageDeflate')
    .check(typeof options.token !== 'number', 'token', 'is a number', 'Pass a string or a function returning one.');
  const reconnect = { ...WS_CLIENT_DEFAULTS.reconnect, ...options.reconnect };
  validateOptions('WsClient', reconnect as Required<WsReconnectOptions>)
    .boolean('enabled')
    .integer('initialDelay', { min: 1 })
    .integer('maxDelay', { min: 1 })
    .check(
      reconnect.maxAttempts === Infinity || (Number.isInteger(reconnect.maxAttempts) && reconnect.maxAttempts >= 0),
      'reconnect.maxAttempts',
      `is ${reconnect.maxAttempts}`,
      'Use a whole number ≥ 0 or Infinity.',
    );
  return { ...WS_CLIENT_DEFAULTS, ...options, reconnect, codec: resolveCodec('WsClient', options.codec) };
}

export type ResolvedWsServerOptions = ReturnType<typeof resolveServerOptions>;
export type ResolvedWsClientOptions = ReturnType<typeof resolveClientOptions>;
