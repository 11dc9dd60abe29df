import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { Logger } from '@nestjs/common';
import { ClientProxy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import {
  backoffDelay,
  checkHealth,
  HEALTH_TIMEOUT_MS,
  type HealthIndicatorResult,
  type HealthOptions,
  ConnectionClosedError,
  CorrelationTable,
  isResponsePacket,
  type MessageSpan,
  PayloadTooLargeError,
  startSendSpan,
  tracedCallback,
  TransportError,
  TransportStatus,
} from '@nest-transports/shared';
import { Observable } from 'rxjs';
import { WebSocket, type RawData } from 'ws';
import { openSocket } from './connect.js';
import { ServerShuttingDownError } from './errors.js';
import { resolveClientOptions, type ResolvedWsClientOptions, type WsClientOptions } from './options.js';
import { WsRecord } from './record.js';
import { CLOSE_REASON_DRAINED, isShuttingDownError } from './wire.js';

export type WsClientStatus = TransportStatus;

export type WsClientEvents = {
  open: () => void;
  close: (code: number, reason: string) => void;
  reconnecting: (attempt: number, delayMs: number) => void;
  error: (error: Error) => void;
};

/**
 * ClientProxy of the WebSocket transport: one connection carries every request, correlated
 * by id. Connects lazily, reconnects with backoff after a drop, fails in-flight requests
 * clearly when the connection goes. `ClientsModule.register([{ name, customClass: WsClient, options }])`.
 */
export class WsClient extends ClientProxy<WsClientEvents> {
  protected readonly logger = new Logger(WsClient.name);
  private readonly options: ResolvedWsClientOptions;
  private readonly events = new EventEmitter();
  private readonly pending = new CorrelationTable();
  private socket: WebSocket | null = null;
  private connection: Promise<WebSocket> | null = null;
  private reconnecting = false;
  /** Aborted by `close()`: ends a connect or reconnect under way, and its backoff wait. */
  private lifetime = new AbortController();
  private heartbeat?: NodeJS.Timeout;
  private loggedBadFrame = false;
  /** The TCP/TLS socket corked until the end of this turn of the event loop, if any. */
  private corked: Duplex | null = null;
  /** Events handed to the socket whose write has not completed. */
  private unsentEvents = 0;
  private readonly uncork = () => {
    const raw = this.corked;
    this.corked = null;
    raw?.uncork();
  };

  constructor(options: WsClientOptions) {
    super();
    this.options = resolveClientOptions(options);
    this.initializeSerializer(options);
    this.initializeDeserializer(options);
  }

  /**
   * `connected`, `disconnected`, `reconnecting`. Narrowed here rather than through ClientProxy's
   * `Status` parameter: that one also types the protected `_status$` subject, which would make
   * `customClass: WsClient` unassignable to Nest's `Type<ClientProxy>` under `strict`.
   */
  override get status(): Observable<WsClientStatus> {
    return super.status as Observable<WsClientStatus>;
  }

  /** Requests waiting for their last reply. */
  get inFlight(): number {
    return this.pending.size;
  }

  connect(): Promise<WebSocket> {
    if (this.reconnecting && this.connection) return this.waitForReconnect(this.connection);
    if (this.connection) return this.connection;
    if (this.lifetime.signal.aborted) this.lifetime = new AbortController();
    const { signal } = this.lifetime;
    const connection = openSocket(this.options, signal).then(
      (socket) => this.adopt(socket, signal),
      (err) => {
        if (this.connection === connection) this.connection = null;
        if (!signal.aborted) this._status$.next(TransportStatus.DISCONNECTED);
        throw err;
      },
    );
    this.connection = connection;
    return connection;
  }

  /** Stops connecting or reconnecting, fails what is in flight, and closes the connection with 1000. */
  async close(): Promise<void> {
    this.lifetime.abort();
    const socket = this.socket;
    this.socket = null;
    this.connection = null;
    this.reconnecting = false;
    this.stopHeartbeat();
    this.pending.rejectAll(new ConnectionClosedError('WsClient', 'the client was closed before the reply arrived'));
    if (socket && socket.readyState !== WebSocket.CLOSED) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => socket.terminate(), 1000);
        socket.once('close', () => {
          clearTimeout(timer);
          resolve();
        });
        socket.close(1000, 'client closing');
      });
    }
    this._status$.next(TransportStatus.DISCONNECTED);
  }

  override on<K extends keyof WsClientEvents>(event: K, callback: WsClientEvents[K]): this {
    this.events.on(event, callback as (...args: unknown[]) => void);
    return this;
  }

  /**
   * A `@nestjs/terminus` indicator: connects (or waits for the reconnection), then `up` with the
   * requests in flight while the socket is open; `down` with the reason, within `timeoutMs`.
   */
  health<Key extends string = string>(options: HealthOptions<Key> = {}): Promise<HealthIndicatorResult<Key>> {
    return checkHealth((options.key ?? 'ws') as Key, options.timeoutMs ?? HEALTH_TIMEOUT_MS, async () => {
      const socket = await this.connect();
      if (socket.readyState !== WebSocket.OPEN) throw new ConnectionClosedError('WsClient', `the connection to ${this.options.url} is not open`);
      return { url: this.options.url, pending: this.pending.size };
    });
  }

  /** The current `ws` WebSocket. */
  unwrap<T = WebSocket>(): T {
    if (!this.socket) throw new TransportError('NOT_CONNECTED', 'Not initialized. Please call the "connect" method first.');
    return this.socket as T;
  }

  /**
   * While connected, a request is published when subscribed to, without Nest's `connect()` and
   * `mergeMap` per request (and the microtask they cost); otherwise Nest's `send` connects first.
   */
  override send<TResult = any, TInput = any>(pattern: any, data: TInput): Observable<TResult> {
    if (pattern === undefined || pattern === null || data === undefined || data === null) return super.send(pattern, data);
    return new Observable<TResult>((observer) => {
      const socket = this.socket;
      if (this.reconnecting || !socket || socket.readyState !== WebSocket.OPEN) return super.send<TResult, TInput>(pattern, data).subscribe(observer);
      // Nest 12 builds the packet through createPacket (its dispatch hook); Nest 11 has none.
      const proxy = this as unknown as { createPacket?: (p: unknown, d: unknown) => ReadPacket };
      const packet = typeof proxy.createPacket === 'function' ? proxy.createPacket(pattern, data) : { pattern, data };
      return this.publish(packet, this.createObserver(observer));
    });
  }

  protected publish(partial: ReadPacket, callback: (packet: WritePacket) => void): () => void {
    const { packet, timeout } = this.toWirePacket(partial);
    const id = this.assignPacketId(packet).id;
    const span = this.traced(packet, id);
    if (span) callback = tracedCallback(span, callback);
    const socket = this.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      callback({ err: new ConnectionClosedError('WsClient', `not connected to ${this.options.url}`), isDisposed: true });
      return () => undefined;
    }
    let frame: string | Buffer;
    try {
      frame = this.encode(packet);
    } catch (err) {
      callback({ err, isDisposed: true });
      return () => undefined;
    }
    const ms = timeout ?? this.options.requestTimeout;
    const cleanup = this.pending.add(id, callback, ms > 0 ? { ms, pattern: String(packet.pattern) } : undefined);
    this.sendFrame(socket, frame);
    if (!span) return cleanup;
    return () => {
      cleanup();
      span.end(); // unsubscribed before the last reply
    };
  }

  protected async dispatchEvent<T = unknown>(partial: ReadPacket): Promise<T> {
    const { packet } = this.toWirePacket(partial);
    const span = this.traced(packet);
    try {
      const socket = this.socket;
      if (!socket || socket.readyState !== WebSocket.OPEN) {
        throw new ConnectionClosedError('WsClient', `not connected to ${this.options.url}; the event was not sent`);
      }
      const frame = this.encode(packet);
      this.unsentEvents++;
      return await new Promise<T>((resolve, reject) =>
        this.sendFrame(socket, frame, (err) => {
          this.unsentEvents--;
          if (err) reject(err);
          else resolve(undefined as T);
        }),
      );
    } catch (err) {
      span?.fail(err);
      throw err;
    } finally {
      span?.end();
    }
  }

  /** Starts the message's span (when tracing is on) and carries its context in the packet's metadata. */
  private traced(packet: ReadPacket & { metadata?: Record<string, string> }, id?: string): MessageSpan | undefined {
    const span = startSendSpan({
      system: 'websocket',
      destination: this.options.url,
      pattern: String(packet.pattern),
      request: id !== undefined,
      correlationId: id,
    });
    if (span && Object.keys(span.fields).length > 0) packet.metadata = { ...packet.metadata, ...span.fields };
    return span;
  }

  /**
   * Sends one frame. A lone one (no other request waiting for its reply, no other event being
   * written) is written at once;
   * frames with company sent in one turn of the event loop go out in one TCP write (the socket is
   * corked until setImmediate), each still its own WebSocket frame.
   */
  private sendFrame(socket: WebSocket, frame: string | Buffer, callback?: (err?: Error) => void): void {
    if (!this.corked && this.pending.size + this.unsentEvents > 1) {
      const raw = (socket as unknown as { _socket?: Duplex })._socket;
      if (raw) {
        this.corked = raw;
        raw.cork();
        setImmediate(this.uncork);
      }
    }
    // A Buffer is read-only to ws: it writes the masked copy and the header as one buffer (one
    // write), where a string is masked in place and written beside its header (cork and writev).
    socket.send(typeof frame === 'string' ? Buffer.from(frame) : frame, { binary: this.options.codec.binary }, callback);
  }

  private toWirePacket(partial: ReadPacket): { packet: ReadPacket & { metadata?: Record<string, string> }; timeout?: number } {
    const pattern = this.normalizePattern(partial.pattern);
    const { metadata } = partial as { metadata?: Record<string, string> };
    if (partial.data instanceof WsRecord) {
      const record = partial.data;
      const merged = record.options.metadata ? { ...metadata, ...record.options.metadata } : metadata;
      return { packet: { pattern, data: record.data, ...(merged && { metadata: merged }) }, timeout: record.options.timeout };
    }
    return { packet: { pattern, data: partial.data, ...(metadata && { metadata }) } };
  }

  private encode(packet: ReadPacket): string | Buffer {
    const frame = this.options.codec.encode(this.serializer.serialize(packet));
    const { maxPayload } = this.options;
    // A UTF-16 code unit is at most 3 bytes of UTF-8: most text frames need no count.
    if (typeof frame === 'string' && frame.length * 3 <= maxPayload) return frame;
    const size = typeof frame === 'string' ? Buffer.byteLength(frame) : frame.byteLength;
    if (size > maxPayload) throw new PayloadTooLargeError('WsClient', size, maxPayload);
    return frame;
  }

  private adopt(socket: WebSocket, signal: AbortSignal): WebSocket {
    if (signal.aborted) {
      socket.terminate();
      throw new ConnectionClosedError('WsClient', 'the client was closed while connecting');
    }
    this.socket = socket;
    this.reconnecting = false;
    socket.on('message', (data, isBinary) => this.onFrame(data, isBinary));
    socket.on('error', (err) => this.emitError(err));
    socket.on('close', (code, reason) => this.onDrop(socket, code, reason.toString()));
    this.startHeartbeat(socket);
    this._status$.next(TransportStatus.CONNECTED);
    this.events.emit('open');
    return socket;
  }

  private onFrame(data: RawData, isBinary: boolean): void {
    let reply: unknown;
    try {
      const frame = data as Buffer;
      reply = this.deserializer.deserialize(this.options.codec.decode(isBinary ? frame : frame.toString('utf8')));
    } catch (err) {
      return this.badFrame((err as Error).message);
    }
    // A custom deserializer may be async; the built-in ones answer at once (no microtask per reply).
    if (!(reply instanceof Promise)) return this.deliver(reply);
    reply.then(
      (r) => this.deliver(r),
      (err) => this.badFrame((err as Error).message),
    );
  }

  private deliver(reply: unknown): void {
    if (!isResponsePacket(reply)) return this.badFrame('a frame that is not a response packet');
    const { id, err, response, isDisposed } = reply;
    this.pending.deliver(id, { err: isShuttingDownError(err) ? new ServerShuttingDownError('WsClient', this.options.url) : err, response, isDisposed });
  }

  private onDrop(socket: WebSocket, code: number, reason: string): void {
    if (socket !== this.socket) return;
    this.socket = null;
    this.stopHeartbeat();
    const why = `the connection to ${this.options.url} closed (${code}${reason ? ` ${reason}` : ''}) before the reply arrived`;
    // The server answered everything it ran before this close: what is pending never ran.
    const neverRan = code === 1001 && reason === CLOSE_REASON_DRAINED;
    this.pending.rejectAll(neverRan ? new ServerShuttingDownError('WsClient', this.options.url) : new ConnectionClosedError('WsClient', why));
    this._status$.next(TransportStatus.DISCONNECTED);
    this.events.emit('close', code, reason);
    if (this.lifetime.signal.aborted || !this.options.reconnect.enabled) {
      this.connection = null;
      return;
    }
    this.reconnecting = true;
    this._status$.next(TransportStatus.RECONNECTING);
    this.connection = this.reconnectLoop(this.lifetime.signal);
    this.connection.catch(() => undefined);
  }

  private async reconnectLoop(signal: AbortSignal): Promise<WebSocket> {
    const { maxAttempts } = this.options.reconnect;
    let lastError: unknown;
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const delay = backoffDelay(attempt, this.options.reconnect);
      this.events.emit('reconnecting', attempt + 1, delay);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, delay);
        signal.addEventListener('abort', done, { once: true });
        function done() {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          resolve();
        }
      });
      if (signal.aborted) throw new ConnectionClosedError('WsClient', 'the client was closed while reconnecting');
      try {
        return this.adopt(await openSocket(this.options, signal), signal);
      } catch (err) {
        if (signal.aborted) throw err;
        lastError = err;
      }
    }
    this.reconnecting = false;
    this.connection = null;
    this._status$.next(TransportStatus.DISCONNECTED);
    const error = new TransportError('RECONNECT_FAILED', `WsClient: gave up reconnecting to ${this.options.url} after ${maxAttempts} attempts`, {
      cause: lastError,
    });
    this.emitError(error);
    throw error;
  }

  private waitForReconnect(connection: Promise<WebSocket>): Promise<WebSocket> {
    const { url, connectTimeout, whileReconnecting } = this.options;
    if (whileReconnecting === 'fail') {
      return Promise.reject(new ConnectionClosedError('WsClient', `reconnecting to ${url}; the message was not sent (whileReconnecting: "fail")`));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new ConnectionClosedError('WsClient', `still reconnecting to ${url} after ${connectTimeout} ms; the message was not sent`)),
        connectTimeout,
      );
      connection.then(resolve, reject).finally(() => clearTimeout(timer));
    });
  }

  private startHeartbeat(socket: WebSocket): void {
    if (!this.options.heartbeatInterval) return;
    let alive = true;
    socket.on('pong', () => (alive = true));
    this.heartbeat = setInterval(() => {
      if (!alive) return void socket.terminate();
      alive = false;
      socket.ping();
    }, this.options.heartbeatInterval);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  private badFrame(reason: string): void {
    if (this.loggedBadFrame) return;
    this.loggedBadFrame = true;
    this.logger.warn(`Dropped a frame from ${this.options.url}: ${reason} (logged once)`);
  }

  private emitError(err: Error): void {
    if (this.events.listenerCount('error') > 0) this.events.emit('error', err);
    else this.logger.error(err.message);
  }
}
