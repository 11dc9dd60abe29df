import { EventEmitter } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Server, type CustomTransportStrategy, type MessageHandler, type WritePacket } from '@nestjs/microservices';
import {
  checkHealth,
  HEALTH_TIMEOUT_MS,
  type HealthIndicatorResult,
  type HealthOptions,
  MalformedPacketError,
  type MessageSpan,
  messageOf,
  NO_MESSAGE_HANDLER,
  rememberDefaultHooks,
  RouteMemo,
  runEventHandler,
  runRequestHandler,
  sanitizeMetadata,
  startProcessSpan,
  TransportError,
  TransportStatus,
} from '@nest-transports/shared';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { PeerConnection } from './connection.js';
import { WsContext, type WsConnection } from './context.js';
import { classifyInbound, type InboundPacket } from './inbound.js';
import { resolveServerOptions, type ResolvedWsServerOptions, type WsServerOptions } from './options.js';
import { offeredSubprotocols, onServerClosing, refuseUpgrade, requestPath } from './upgrade.js';
import { CLOSE_REASON_CUT_OFF, CLOSE_REASON_DRAINED, shuttingDownReply, WS_CLOSE_CODES } from './wire.js';

/** Transport id: target this server from `@MessagePattern(p, WS_TRANSPORT)` in hybrid apps. */
export const WS_TRANSPORT = Symbol('WS_TRANSPORT');

export type WsServerStatus = typeof TransportStatus.CONNECTED | typeof TransportStatus.DISCONNECTED;

export type WsServerEvents = {
  /** A connection was accepted (after `authenticate`). */
  connection: (connection: WsConnection) => void;
  /** A connection ended; `code` is the one the server closed it with, if it did. */
  disconnect: (connection: WsConnection, code: number, reason: string) => void;
  /** An upgrade request was refused (status 400, 401, 404, 503). */
  rejected: (request: IncomingMessage, status: number, reason: string) => void;
  /** A peer broke the protocol (or its frame could not be handled) and its connection was closed with `code`. */
  'protocol-error': (connection: WsConnection, code: number, reason: string) => void;
  error: (error: Error) => void;
  listening: () => void;
  close: () => void;
};

/** Error codes `ws` raises for a bad frame, with the close code it sends (1002 for the rest). */
const WS_ERROR_CLOSE_CODES: Record<string, number> = {
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: 1009,
  WS_ERR_INVALID_UTF8: 1007,
  WS_ERR_TOO_MANY_BUFFERED_PARTS: 1008,
  WS_ERR_TOO_MANY_FRAGMENTS: 1008,
};

/**
 * Nest microservice strategy serving the WebSocket transport, standalone or attached to an
 * existing HTTP(S) server. `NestFactory.createMicroservice(App, { strategy: new WsServer(options) })`.
 *
 * A peer can end at most its own connection: every step of handling its frames is guarded,
 * and an unforeseen failure closes that connection with 1011.
 */
export class WsServer extends Server<WsServerEvents, WsServerStatus> implements CustomTransportStrategy {
  override readonly transportId = WS_TRANSPORT;
  private readonly options: ResolvedWsServerOptions;
  private readonly events = new EventEmitter();
  private readonly connections = new Set<PeerConnection>();
  /** Sockets between the upgrade request and an open WebSocket (counted against `maxConnections`). */
  private readonly handshakes = new Set<Duplex>();
  private readonly handshakeTimers = new WeakMap<Duplex, NodeJS.Timeout>();
  private httpServer?: HttpServer | HttpsServer;
  private wss?: WebSocketServer;
  private heartbeat?: NodeJS.Timeout;
  private sweeper?: NodeJS.Timeout;
  private lastSweep = 0;
  private inFlight = 0;
  private whenIdle?: () => void;
  private closing: Promise<void> | null = null;
  private droppedWhileClosing = 0;
  private restoreServerClose?: () => void;
  private suppressedLogs = 0;
  private lastPeerLog = 0;
  private readonly routes = new RouteMemo(
    (p) => super.getRouteFromPattern(p),
    (route) => this.messageHandlers.has(route),
  );
  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) =>
    void this.upgrade(request, socket, head).catch((err) => {
      socket.destroy();
      this.emitError(err);
    });
  private readonly onTcpConnection = (socket: Socket) => this.startHandshakeTimer(socket);

  constructor(options: WsServerOptions = {}) {
    super();
    this.options = resolveServerOptions(options);
    this.initializeSerializer(options);
    this.initializeDeserializer(options);
    rememberDefaultHooks(this);
  }

  /** The bound address once listening (useful with `port: 0`). */
  get address(): AddressInfo | null {
    const address = this.httpServer?.address();
    return address && typeof address === 'object' ? address : null;
  }

  /** Number of open connections. */
  get connectionCount(): number {
    return this.connections.size;
  }

  listen(callback: (err?: unknown) => void): void {
    try {
      this.closing = null;
      const { maxPayload } = this.options;
      // ws keeps each received chunk and fragment as its own Buffer: a peer dripping a frame
      // byte by byte must not turn maxPayload bytes into a million objects.
      const maxParts = Math.max(1024, Math.ceil(maxPayload / 256));
      this.wss = new WebSocketServer({
        noServer: true,
        clientTracking: false,
        maxPayload,
        maxBufferedChunks: maxParts,
        maxFragments: maxParts,
        perMessageDeflate: this.options.perMessageDeflate,
        handleProtocols: () => this.options.subprotocol,
      });
      this.startTimers();
      if (this.options.server) {
        const server = this.options.server;
        this.httpServer = server;
        server.on('upgrade', this.onUpgrade);
        this.restoreServerClose = onServerClosing(server, () => void this.close());
        this._status$.next(TransportStatus.CONNECTED);
        return callback();
      }
      const { tls, handshakeTimeout } = this.options;
      const server = tls ? createHttpsServer({ handshakeTimeout, ...tls }) : createHttpServer();
      this.httpServer = server;
      server.on('request', (_req, res) => res.writeHead(426, { 'Content-Type': 'text/plain' }).end('This endpoint speaks WebSocket only.\n'));
      server.on(this.options.tls ? 'secureConnection' : 'connection', this.onTcpConnection);
      server.on('upgrade', this.onUpgrade);
      server.on('error', (err) => this.emitError(err));
      server.once('error', (err) => {
        if (!server.listening) {
          this.stopTimers();
          this._status$.next(TransportStatus.DISCONNECTED);
          callback(err);
        }
      });
      server.listen(this.options.port, this.options.host, () => {
        this._status$.next(TransportStatus.CONNECTED);
        this.events.emit('listening');
        callback();
      });
    } catch (err) {
      callback(err);
    }
  }

  /**
   * Graceful, and final from its first moment: new connections are refused (503), a request
   * that arrives is answered at once with the `SERVER_SHUTTING_DOWN` error without running, an
   * event is not run. Waits up to `closeTimeout` for the request and event handlers in flight
   * (their replies are sent), then closes every connection with 1001. Repeated calls share it.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  on<K extends keyof WsServerEvents>(event: K, callback: WsServerEvents[K]): this {
    this.events.on(event, callback as (...args: unknown[]) => void);
    return this;
  }

  /** The underlying `ws` WebSocketServer. */
  /** A `@nestjs/terminus` indicator: `up` while listening (with the open connections and handlers in flight), else `down`. */
  health<Key extends string = string>(options: HealthOptions<Key> = {}): Promise<HealthIndicatorResult<Key>> {
    return checkHealth((options.key ?? 'ws') as Key, options.timeoutMs ?? HEALTH_TIMEOUT_MS, async () => {
      if (!this.wss || this.closing) throw new Error(`WsServer is ${this.closing ? 'closing' : 'not listening'}`);
      return { connections: this.connections.size, inFlight: this.inFlight };
    });
  }

  unwrap<T = WebSocketServer>(): T {
    if (!this.wss) {
      throw new TransportError('NOT_CONNECTED', 'Not initialized. Please call the "listen"/"startAllMicroservices" method before accessing the server.');
    }
    return this.wss as T;
  }

  protected override getRouteFromPattern(pattern: string): string {
    try {
      return this.routes.route(pattern);
    } catch {
      return pattern; // a pattern Nest cannot route (e.g. JSON nested too deep to normalise) has no handler
    }
  }

  private async shutdown(): Promise<void> {
    const attached = Boolean(this.options.server);
    const http = this.httpServer;
    const closed = http && !attached ? new Promise<void>((resolve) => http.close(() => resolve())) : undefined;
    for (const socket of this.handshakes) socket.destroy();
    const drained = await this.drainInFlight(this.options.closeTimeout);
    if (this.droppedWhileClosing) {
      this.logger.warn(`${this.droppedWhileClosing} event(s) arrived while shutting down and were not run`);
      this.droppedWhileClosing = 0;
    }
    const reason = drained ? CLOSE_REASON_DRAINED : CLOSE_REASON_CUT_OFF;
    await Promise.all([...this.connections].map((conn) => this.closeConnection(conn, WS_CLOSE_CODES.GOING_AWAY, reason)));
    this.connections.clear();
    this.stopTimers();
    http?.off('upgrade', this.onUpgrade);
    http?.off('connection', this.onTcpConnection);
    http?.off('secureConnection', this.onTcpConnection);
    this.restoreServerClose?.();
    this.restoreServerClose = undefined;
    await closed;
    this.wss?.close();
    this._status$.next(TransportStatus.DISCONNECTED);
    this.events.emit('close');
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const refuse = (status: number, reason: string, headers?: Record<string, string>) => {
      this.events.emit('rejected', request, status, reason);
      refuseUpgrade(socket, status, reason, headers);
    };
    const { path, server, maxConnections, subprotocol, authenticate } = this.options;
    if (path && requestPath(request) !== path) {
      // Another upgrade listener (a gateway) may own this path; with none, nobody would answer it.
      if (server && server.listenerCount('upgrade') > 1) return;
      return refuse(404, `No WebSocket endpoint at this path; use ${path}`);
    }
    if (this.closing) return refuse(503, 'The server is shutting down');
    if (this.connections.size + this.handshakes.size >= maxConnections) {
      return refuse(503, `Too many connections (maxConnections ${maxConnections}); try again later`, { 'Retry-After': '1' });
    }
    if (!offeredSubprotocols(request).includes(subprotocol)) {
      return refuse(400, `Offer the subprotocol "${subprotocol}" (the wire format this server speaks)`);
    }
    this.handshakes.add(socket);
    const attachedTimer = server ? this.startHandshakeTimer(socket) : undefined;
    try {
      let auth: unknown;
      if (authenticate) {
        try {
          auth = await authenticate(request);
        } catch {
          auth = false;
        }
        if (auth === false) return refuse(401, 'Authentication failed');
      }
      if (socket.destroyed) return; // the handshake timed out, or the server closed
      if (this.closing) return refuse(503, 'The server is shutting down');
      this.wss!.handleUpgrade(request, socket, head, (ws) => this.accept(ws, request, auth, socket));
    } finally {
      this.handshakes.delete(socket);
      clearTimeout(attachedTimer);
    }
  }

  /** Destroys a socket that has not become a WebSocket within `handshakeTimeout`. */
  private startHandshakeTimer(socket: Duplex): NodeJS.Timeout {
    const timer = setTimeout(() => socket.destroy(), this.options.handshakeTimeout);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    this.handshakeTimers.set(socket, timer);
    return timer;
  }

  private accept(socket: WebSocket, request: IncomingMessage, auth: unknown, raw: Duplex): void {
    clearTimeout(this.handshakeTimers.get(raw));
    const conn = new PeerConnection(
      socket,
      request,
      auth,
      raw,
      this.options,
      (peer, queued) => this.dropSlowReader(peer, queued),
      (peer, data, isBinary) => this.onMessage(peer, data, isBinary),
    );
    this.connections.add(conn);
    socket.on('pong', () => {
      conn.alive = true;
      conn.framesIn++;
    });
    socket.on('ping', () => conn.framesIn++);
    socket.on('message', (data, isBinary) => conn.receive(data, isBinary));
    // ws closes the connection itself on these (e.g. 1009 for maxPayload); we only report it.
    socket.on('error', (err) => {
      const code = WS_ERROR_CLOSE_CODES[(err as { code?: string }).code ?? ''] ?? WS_CLOSE_CODES.PROTOCOL_ERROR;
      conn.closeCode ??= code;
      this.peerLog(conn, code, err.message);
    });
    socket.on('close', (code, reason) => {
      this.connections.delete(conn);
      this.events.emit('disconnect', conn, conn.closeCode ?? code, reason.toString());
    });
    this.events.emit('connection', conn);
  }

  /** Every step of a frame's handling runs under this guard: a failure ends only this connection. */
  private onMessage(conn: PeerConnection, data: RawData, isBinary: boolean): void {
    if (conn.closeCode !== undefined) return; // closing it: nothing more it sends is run
    try {
      const { codec } = this.options;
      if (isBinary !== codec.binary) {
        const why = isBinary ? `binary frame on a ${codec.name} (text) connection` : `text frame on a ${codec.name} (binary) connection`;
        return this.protocolError(conn, WS_CLOSE_CODES.UNSUPPORTED_DATA, why);
      }
      let value: unknown;
      let packet: unknown;
      try {
        const frame = data as Buffer;
        value = codec.decode(isBinary ? frame : frame.toString('utf8'));
        packet = this.deserializer.deserialize(value);
      } catch (err) {
        return this.malformed(conn, err);
      }
      if (packet instanceof Promise) {
        packet.then(
          (p) => this.guard(conn, () => this.dispatch(conn, p, value)),
          (err) => this.guard(conn, () => this.malformed(conn, err)),
        );
      } else {
        this.dispatch(conn, packet, value);
      }
    } catch (err) {
      this.internalError(conn, err);
    }
  }

  private dispatch(conn: PeerConnection, packet: unknown, raw: unknown): void {
    const inbound = classifyInbound(packet, raw);
    switch (inbound.kind) {
      case 'invalid':
        return this.protocolError(conn, WS_CLOSE_CODES.INVALID_PAYLOAD, inbound.reason);
      case 'no-pattern':
        this.peerLog(conn, 0, 'a request without "pattern"');
        return this.write(conn, { id: inbound.id, err: { status: 'error', message: 'Malformed packet: it has no "pattern".' }, isDisposed: true });
      case 'event':
        return this.handleEventPacket(conn, inbound.packet);
      case 'request':
        if (this.closing) return this.write(conn, shuttingDownReply(inbound.id));
        return void this.handleRequestPacket(conn, inbound.id, inbound.packet)?.catch((err) => this.internalError(conn, err));
    }
  }

  private context(conn: PeerConnection, packet: InboundPacket): { pattern: string; context: WsContext; metadata?: Record<string, string> } {
    const pattern = this.getPatternAsString(packet.pattern);
    const metadata = sanitizeMetadata(packet.metadata);
    return { pattern, metadata, context: new WsContext([conn, pattern, metadata]) };
  }

  /** The consumer/server span of a packet, parented by the trace context its metadata carries. */
  private span(pattern: string, metadata: Record<string, string> | undefined, id?: string): MessageSpan | undefined {
    const span = startProcessSpan({ system: 'websocket', source: this.options.path ?? '/', request: id !== undefined, messageId: id }, metadata);
    span?.set({ 'nest.pattern': pattern, 'messaging.message.conversation_id': id });
    return span;
  }

  private handleEventPacket(conn: PeerConnection, packet: InboundPacket): void {
    if (this.closing) {
      this.droppedWhileClosing++;
      return;
    }
    const { pattern, context, metadata } = this.context(conn, packet);
    const handler = this.getHandlerByPattern(pattern);
    if (!handler) return this.peerLog(conn, 0, `an event for "${pattern.slice(0, 100)}", which has no handler`);
    const done = this.begin();
    const span = this.span(pattern, metadata);
    const run = () => runEventHandler(this as unknown as Server, handler, packet.data, context);
    // Nest's exception filter has logged a handler's failure already; the event ends either way.
    if (!span) return void run().then(done, done);
    span.run(run).then(
      () => {
        span.outcome('ack', 'handled');
        span.end();
        done();
      },
      (err) => {
        span.fail(err);
        span.outcome('dropped', 'failed');
        span.end();
        done();
      },
    );
  }

  /** Not async: a throw here is caught by the frame's guard, and a request costs no promise of its own. */
  private handleRequestPacket(conn: PeerConnection, id: string, packet: InboundPacket): Promise<void> | undefined {
    const { pattern, context, metadata } = this.context(conn, packet);
    const span = this.span(pattern, metadata, id);
    const handler: MessageHandler | null = this.getHandlerByPattern(pattern);
    if (!handler) {
      span?.fail({ status: 'error', message: NO_MESSAGE_HANDLER });
      span?.end();
      this.write(conn, { id, status: 'error', err: NO_MESSAGE_HANDLER, isDisposed: true });
      return;
    }
    const done = this.begin();
    conn.requestStarted();
    let finished = false;
    const respond = (reply: WritePacket) => {
      if (finished) return;
      finished = Boolean(reply.isDisposed);
      if (span && reply.err !== undefined && reply.err !== null) span.fail(reply.err);
      this.write(conn, Object.assign(reply, { id }), finished);
      if (finished) {
        span?.end();
        done();
      }
    };
    const run = () => this.runRequest(handler, packet, context, respond);
    return span ? span.run(run) : run();
  }

  private runRequest(handler: MessageHandler, packet: InboundPacket, context: WsContext, respond: (reply: WritePacket) => void): Promise<void> {
    return runRequestHandler(this as unknown as Server, handler, packet.data, context, respond).catch((err) => {
      this.logger.error(err);
      respond({ err: { status: 'error', message: 'Internal server error' }, isDisposed: true });
    });
  }

  /** Counts one request or event in flight; the returned function ends it (once). */
  private begin(): () => void {
    this.inFlight++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      if (--this.inFlight === 0) this.whenIdle?.();
    };
  }

  /** Writes a reply; `last` for the final reply of a request counted by `requestStarted()`. */
  private write(conn: PeerConnection, reply: WritePacket & { id: string }, last = false): void {
    if (conn.socket.readyState !== WebSocket.OPEN) return; // the peer is gone; its client failed the request
    const { codec } = this.options;
    let frame: string | Buffer;
    try {
      frame = codec.encode(this.serializer.serialize(reply));
    } catch (err) {
      this.logger.error(`Could not encode the reply to ${reply.id.slice(0, 100)}: ${messageOf(err)}`);
      frame = codec.encode({ id: reply.id, err: { status: 'error', message: 'The reply could not be encoded' }, isDisposed: true });
    }
    conn.send(frame, codec.binary, last);
  }

  private guard(conn: PeerConnection, step: () => void): void {
    try {
      step();
    } catch (err) {
      this.internalError(conn, err);
    }
  }

  private malformed(conn: PeerConnection, err: unknown): void {
    const reason = err instanceof MalformedPacketError ? err.message : `undecodable frame: ${messageOf(err) ?? 'unknown error'}`;
    this.protocolError(conn, WS_CLOSE_CODES.INVALID_PAYLOAD, reason);
  }

  private internalError(conn: PeerConnection, err: unknown): void {
    this.protocolError(conn, WS_CLOSE_CODES.INTERNAL_ERROR, `handling its frame failed: ${(messageOf(err) ?? 'unknown error').slice(0, 200)}`);
  }

  private dropSlowReader(conn: PeerConnection, queued: number): void {
    conn.closeCode = WS_CLOSE_CODES.POLICY_VIOLATION;
    this.peerLog(conn, conn.closeCode, `peer does not read its replies (${queued} bytes unsent, none delivered for ${this.options.slowReaderTimeout} ms)`);
    // A close frame would wait behind the unread replies: end the TCP connection instead.
    conn.socket.terminate();
  }

  private protocolError(conn: PeerConnection, code: number, reason: string): void {
    if (conn.closeCode !== undefined) return;
    this.peerLog(conn, code, reason);
    this.events.emit('protocol-error', conn, code, reason);
    void this.closeConnection(conn, code, reason.slice(0, 120));
  }

  /** Logs bad peers at most once a second, with a count of what was left out. */
  private peerLog(conn: WsConnection, code: number, reason: string): void {
    const now = Date.now();
    if (now - this.lastPeerLog < 1000) {
      this.suppressedLogs++;
      return;
    }
    const more = this.suppressedLogs ? ` (${this.suppressedLogs} similar reports suppressed)` : '';
    this.lastPeerLog = now;
    this.suppressedLogs = 0;
    const action = code ? `closing it with ${code}` : 'answered with an error';
    this.logger.warn(`Connection ${conn.id} from ${conn.request.socket?.remoteAddress ?? '?'}: ${reason}; ${action}${more}`);
  }

  private startTimers(): void {
    const { heartbeatInterval, frameTimeout, slowReaderTimeout } = this.options;
    if (heartbeatInterval) {
      this.heartbeat = setInterval(() => {
        for (const conn of this.connections) {
          if (!conn.alive) {
            conn.socket.terminate();
            continue;
          }
          conn.alive = false;
          conn.socket.ping();
        }
      }, heartbeatInterval);
      this.heartbeat.unref();
    }
    const every = Math.max(10, Math.min(1000, Math.floor(Math.min(frameTimeout, slowReaderTimeout) / 4)));
    this.lastSweep = Date.now();
    this.sweeper = setInterval(() => this.sweep(every), every);
    this.sweeper.unref();
  }

  private stopTimers(): void {
    clearInterval(this.heartbeat);
    clearInterval(this.sweeper);
  }

  /** Drops peers stalled mid-frame and slow readers whose queue stopped moving while no reply was written. */
  private sweep(every: number): void {
    const now = Date.now();
    const late = now - this.lastSweep > 2 * every + 100;
    this.lastSweep = now;
    for (const conn of this.connections) {
      if (conn.closeCode !== undefined) continue;
      if (late) {
        conn.resetClocks(now); // the event loop was blocked: nobody had a chance to progress
        continue;
      }
      if (conn.checkSlowReader(now)) continue;
      if (conn.stalledMidFrame(now, this.options.frameTimeout)) {
        this.protocolError(conn, WS_CLOSE_CODES.POLICY_VIOLATION, `a frame left unfinished for more than ${this.options.frameTimeout} ms`);
      }
    }
  }

  /** Resolves true once nothing is in flight, false when `timeoutMs` passed first. */
  private drainInFlight(timeoutMs: number): Promise<boolean> {
    if (this.inFlight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(false), timeoutMs);
      const whenIdle = () => done(true);
      this.whenIdle = whenIdle;
      const done = (idle: boolean) => {
        clearTimeout(timer);
        if (this.whenIdle === whenIdle) this.whenIdle = undefined;
        resolve(idle);
      };
    });
  }

  /** Closes with a code, and terminates a peer that does not answer the close within a second. */
  private closeConnection(conn: PeerConnection, code: number, reason: string): Promise<void> {
    conn.closeCode ??= code;
    const { socket } = conn;
    if (socket.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => socket.terminate(), 1000);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      if (socket.readyState === WebSocket.OPEN) socket.close(code, reason);
    });
  }

  private emitError(err: Error): void {
    if (this.events.listenerCount('error') > 0) this.events.emit('error', err);
    else this.logger.error(err);
  }
}
