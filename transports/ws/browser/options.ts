/** Turns packets into frames and back; JSON (text frames) unless you pass e.g. a MessagePack codec. */
export interface BrowserCodec {
  readonly binary: boolean;
  encode(value: unknown): string | Uint8Array;
  decode(data: string | ArrayBuffer): unknown;
}

export interface WsBrowserClientOptions {
  /** `ws://…` or `wss://…` (in a page, often `` `${location.origin.replace('http', 'ws')}/rpc` ``). */
  url: string;
  /** Must match the server's. Default `'nest-transports.ws.v1'`. */
  subprotocol?: string;
  /** Default JSON. A binary codec (e.g. MessagePack) needs `codec: 'msgpack'` on the server. */
  codec?: BrowserCodec;
  /** Bound on opening the connection, in ms. Default 5000. */
  connectTimeout?: number;
  /** Default timeout of each `send()`/`stream()`, in ms; 0 = none. Default 0. */
  requestTimeout?: number;
  /** Largest message sent, in bytes. Default 1 MiB (the server's default `maxPayload`). */
  maxPayload?: number;
  /** Reconnect after a drop, with exponential backoff and jitter. Default on, 100 ms → 5 s. */
  reconnect?: { enabled?: boolean; initialDelay?: number; maxDelay?: number };
  /** A `WebSocket` constructor, for runtimes without a global one. Default `globalThis.WebSocket`. */
  WebSocket?: typeof WebSocket;
}

export interface CallOptions {
  /** Overrides `requestTimeout` for this call. */
  timeout?: number;
  /** String pairs the handler reads from `WsContext#getMetadata()`. */
  metadata?: Record<string, string>;
  /** Aborting drops the call (its late replies are ignored). */
  signal?: AbortSignal;
}

export const jsonCodec: BrowserCodec = {
  binary: false,
  encode: (value) => JSON.stringify(value),
  decode: (data) => JSON.parse(typeof data === 'string' ? data : new TextDecoder().decode(data)),
};
