import { RemoteError, WsBrowserError } from './errors.js';
import { jsonCodec, type CallOptions, type WsBrowserClientOptions } from './options.js';

type Status = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'closed';

interface Reply {
  id?: unknown;
  err?: unknown;
  response?: unknown;
  isDisposed?: boolean;
}

interface Observer {
  next(value: unknown): void;
  error(err: unknown): void;
  complete(): void;
}

interface Listeners {
  open: () => void;
  close: (code: number, reason: string) => void;
  reconnecting: (attempt: number, delayMs: number) => void;
  status: (status: Status) => void;
}

const OPEN = 1;

/**
 * A dependency-free client of the WebSocket transport for browsers, workers, Deno and Bun:
 * the same wire format and subprotocol as `WsClient`, with promises instead of Observables.
 */
export class WsBrowserClient {
  private readonly options: Required<Omit<WsBrowserClientOptions, 'reconnect'>> & { reconnect: Required<NonNullable<WsBrowserClientOptions['reconnect']>> };
  private readonly calls = new Map<string, Observer>();
  private readonly listeners: { [K in keyof Listeners]: Set<Listeners[K]> } = { open: new Set(), close: new Set(), reconnecting: new Set(), status: new Set() };
  private socket: WebSocket | null = null;
  private opening: Promise<WebSocket> | null = null;
  /** Ends the connection attempt under way (the socket is closed, the attempt fails); set while one runs. */
  private abortOpening: (() => void) | null = null;
  private readonly idPrefix = Math.random().toString(36).slice(2, 10);
  private nextId = 0;
  private attempt = 0;
  private reconnectTimer?: ReturnType<typeof setTimeout>;
  private currentStatus: Status = 'idle';

  constructor(options: WsBrowserClientOptions) {
    if (!/^wss?:\/\//.test(options?.url ?? '')) {
      throw new TypeError(`WsBrowserClient: option "url" is ${JSON.stringify(options?.url)}. Use an absolute URL starting with ws:// or wss://.`);
    }
    const WebSocketImpl = options.WebSocket ?? globalThis.WebSocket;
    if (typeof WebSocketImpl !== 'function') {
      throw new TypeError('WsBrowserClient: no WebSocket in this runtime. Pass one as the "WebSocket" option.');
    }
    this.options = {
      subprotocol: 'nest-transports.ws.v1',
      codec: jsonCodec,
      connectTimeout: 5000,
      requestTimeout: 0,
      maxPayload: 1024 * 1024,
      ...options,
      WebSocket: WebSocketImpl,
      reconnect: { enabled: true, initialDelay: 100, maxDelay: 5000, ...options.reconnect },
    };
  }

  get status(): Status {
    return this.currentStatus;
  }

  /** Opens the connection (also done by the first call); resolves when it is open. */
  async connect(): Promise<void> {
    await this.ready();
  }

  /** Calls a `@MessagePattern` handler; resolves with its (last) value, rejects with `RemoteError` when it failed. */
  send<T = unknown>(pattern: unknown, data: unknown, options: CallOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let last: unknown;
      this.call(pattern, data, options, { next: (v) => (last = v), error: reject, complete: () => resolve(last as T) }).catch(reject);
    });
  }

  /** Calls a handler that returns an Observable: yields each value in order; `break` drops the rest. */
  async *stream<T = unknown>(pattern: unknown, data: unknown, options: CallOptions = {}): AsyncGenerator<T, void, undefined> {
    const queue: T[] = [];
    let finished = false;
    let failure: unknown;
    let wake = () => {};
    const cancel = await this.call(pattern, data, options, {
      next: (v) => (queue.push(v as T), wake()),
      error: (e) => ((failure = e), (finished = true), wake()),
      complete: () => ((finished = true), wake()),
    });
    try {
      for (;;) {
        if (queue.length > 0) {
          yield queue.shift()!;
          continue;
        }
        if (finished) {
          if (failure !== undefined) throw failure;
          return;
        }
        await new Promise<void>((resolve) => (wake = resolve));
      }
    } finally {
      cancel();
    }
  }

  /** Emits an event to every `@EventPattern` handler; resolves once handed to the socket. */
  async emit(pattern: unknown, data: unknown, options: Pick<CallOptions, 'metadata'> = {}): Promise<void> {
    const socket = await this.ready();
    socket.send(this.encode({ pattern, data, ...(options.metadata && { metadata: options.metadata }) }));
  }

  /** Closes the connection, stops reconnecting, fails what is in flight. */
  close(): void {
    clearTimeout(this.reconnectTimer);
    this.setStatus('closed');
    const socket = this.socket;
    this.socket = null;
    this.opening = null;
    this.abortOpening?.();
    this.failAll(new WsBrowserError('CLIENT_CLOSED', 'The client was closed before the reply arrived.'));
    socket?.close(1000, 'client closing');
  }

  /** Subscribes to `open`, `close`, `reconnecting`, `status`; returns the unsubscribe function. */
  on<K extends keyof Listeners>(event: K, listener: Listeners[K]): () => void {
    this.listeners[event].add(listener);
    return () => this.listeners[event].delete(listener);
  }

  private async call(pattern: unknown, data: unknown, options: CallOptions, observer: Observer): Promise<() => void> {
    if (options.signal?.aborted) throw new WsBrowserError('CLIENT_CLOSED', 'The call was aborted.');
    const socket = await this.ready();
    const id = `${this.idPrefix}-${++this.nextId}`;
    const frame = this.encode({ id, pattern, data, ...(options.metadata && { metadata: options.metadata }) });
    const timeout = options.timeout ?? this.options.requestTimeout;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const cancel = () => {
      clearTimeout(timer);
      this.calls.delete(id);
      options.signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      cancel();
      observer.error(new WsBrowserError('CLIENT_CLOSED', 'The call was aborted.'));
    };
    const settle = (fn: () => void) => {
      cancel();
      fn();
    };
    this.calls.set(id, {
      next: observer.next,
      error: (e) => settle(() => observer.error(e)),
      complete: () => settle(() => observer.complete()),
    });
    if (timeout > 0) {
      timer = setTimeout(
        () => settle(() => observer.error(new WsBrowserError('REQUEST_TIMEOUT', `No reply to ${JSON.stringify(pattern)} within ${timeout} ms.`))),
        timeout,
      );
    }
    options.signal?.addEventListener('abort', onAbort);
    socket.send(frame);
    return cancel;
  }

  private encode(packet: object): string | BufferSource {
    const frame = this.options.codec.encode(packet);
    const size = typeof frame === 'string' ? new TextEncoder().encode(frame).byteLength : frame.byteLength;
    if (size > this.options.maxPayload) {
      throw new WsBrowserError('PAYLOAD_TOO_LARGE', `The encoded message is ${size} bytes, over the limit of ${this.options.maxPayload} bytes.`);
    }
    return frame as string | BufferSource;
  }

  private ready(): Promise<WebSocket> {
    if (this.socket?.readyState === OPEN) return Promise.resolve(this.socket);
    if (this.currentStatus === 'closed') this.currentStatus = 'idle';
    if (this.opening) return this.opening;
    const opening = this.open().finally(() => {
      if (this.opening === opening) this.opening = null;
    });
    this.opening = opening;
    return opening;
  }

  private open(): Promise<WebSocket> {
    const { url, subprotocol, connectTimeout, WebSocket: WebSocketImpl } = this.options;
    if (this.currentStatus !== 'reconnecting') this.setStatus('connecting');
    return new Promise<WebSocket>((resolve, reject) => {
      const socket = new WebSocketImpl(url, [subprotocol]);
      socket.binaryType = 'arraybuffer';
      const timer = setTimeout(() => fail(`no answer within ${connectTimeout} ms`), connectTimeout);
      const end = (err: WsBrowserError) => {
        clearTimeout(timer);
        if (this.abortOpening === abort) this.abortOpening = null;
        socket.onopen = socket.onclose = null;
        socket.onerror = () => undefined; // closing a connecting socket reports an error (an exception in Node's ws)
        socket.close();
        reject(err);
      };
      const fail = (why: string) => {
        if (this.currentStatus !== 'reconnecting') this.setStatus('idle');
        end(new WsBrowserError('BACKEND_UNREACHABLE', `WsBrowserClient: cannot reach ${url}: ${why}.`));
      };
      const abort = () => end(new WsBrowserError('CLIENT_CLOSED', 'The client was closed while connecting.'));
      this.abortOpening = abort;
      socket.onerror = () => fail('the connection failed (refused, unreachable, or the handshake was rejected)');
      socket.onclose = (ev) => fail(`closed during the handshake (${ev.code})`);
      socket.onopen = () => {
        clearTimeout(timer);
        if (this.abortOpening === abort) this.abortOpening = null;
        this.adopt(socket);
        resolve(socket);
      };
    });
  }

  private adopt(socket: WebSocket): void {
    this.socket = socket;
    this.attempt = 0;
    socket.onmessage = (ev) => this.onFrame(ev.data as string | ArrayBuffer);
    socket.onerror = null;
    socket.onclose = (ev) => this.onDrop(socket, ev.code, ev.reason);
    this.setStatus('connected');
    this.listeners.open.forEach((l) => l());
  }

  private onFrame(data: string | ArrayBuffer): void {
    let reply: Reply;
    try {
      reply = this.options.codec.decode(data) as Reply;
    } catch {
      return; // not a packet: nothing to route it to
    }
    const call = typeof reply?.id === 'string' ? this.calls.get(reply.id) : undefined;
    if (!call) return; // late (timed out, aborted) or foreign
    // Nest's ClientProxy rules: an error ends the call; `isDisposed` completes it, with a last value if any.
    if (reply.err !== undefined && reply.err !== null) {
      if ((reply.err as { code?: unknown }).code === 'SERVER_SHUTTING_DOWN') {
        return call.error(new WsBrowserError('SERVER_SHUTTING_DOWN', `${this.options.url} is shutting down and did not run the request; it is safe to retry.`));
      }
      return call.error(new RemoteError(reply.err));
    }
    if (reply.isDisposed) {
      if (reply.response !== undefined) call.next(reply.response);
      return call.complete();
    }
    call.next(reply.response);
  }

  private onDrop(socket: WebSocket, code: number, reason: string): void {
    if (socket !== this.socket) return;
    this.socket = null;
    // 1001 'server shutting down': the server answered everything it ran; what is pending never ran.
    this.failAll(
      code === 1001 && reason === 'server shutting down'
        ? new WsBrowserError('SERVER_SHUTTING_DOWN', `${this.options.url} is shutting down and did not run the request; it is safe to retry.`)
        : new WsBrowserError('CONNECTION_CLOSED', `The connection to ${this.options.url} closed (${code}) before the reply arrived.`),
    );
    this.listeners.close.forEach((l) => l(code, reason));
    if (this.currentStatus === 'closed' || !this.options.reconnect.enabled) return this.setStatus('idle');
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    const { initialDelay, maxDelay } = this.options.reconnect;
    const ceiling = Math.min(maxDelay, initialDelay * 2 ** this.attempt++);
    const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    this.setStatus('reconnecting');
    this.listeners.reconnecting.forEach((l) => l(this.attempt, delay));
    this.reconnectTimer = setTimeout(() => {
      if (this.currentStatus !== 'reconnecting' || this.socket) return;
      this.ready().catch(() => this.scheduleReconnect());
    }, delay);
  }

  private failAll(err: Error): void {
    const calls = [...this.calls.values()];
    this.calls.clear();
    calls.forEach((c) => c.error(err));
  }

  private setStatus(status: Status): void {
    if (status === this.currentStatus) return;
    this.currentStatus = status;
    this.listeners.status.forEach((l) => l(status));
  }
}
