import { EventEmitter } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { Server, type CustomTransportStrategy, type ReadPacket, type WritePacket } from '@nestjs/microservices';
import { hasPattern, MalformedPacketError, NO_MESSAGE_HANDLER, sanitizeMetadata, TransportStatus, RouteMemo } from '@nest-transports/shared';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { WsContext, type WsConnection } from './context.js';
import { resolveServerOptions, type ResolvedWsServerOptions, type WsServerOptions } from './options.js';
import { offeredSubprotocols, refuseUpgrade, requestPath } from './upgrade.js';

/** Transport id: target this server from `@MessagePattern(p, WS_TRANSPORT)` in hybrid apps. */
export const WS_TRANSPORT = Symbol('WS_TRANSPORT');

export type WsServerStatus = typeof TransportStatus.CONNECTED | typeof TransportStatus.DISCONNECTED;

export type WsServerEvents = {
  /** A connection was accepted (after `authenticate`). */
  connection: (connection: WsConnection) => void;
  /** A connection ended. */
  disconnect: (connection: WsConnection, code: number, reason: string) => void;
  /** An upgrade request was refused (status 401, 404, 400, 503). */
  rejected: (request: IncomingMessage, status: number, reason: string) => void;
  /** A peer broke the protocol and its connection was closed with `code`. */
  'protocol-error': (connection: WsConnection, code: number, reason: string) => void;
  error: (error: Error) => void;
  listening: () => void;
  close: () => void;
};

type InboundPacket = ReadPacket & { id?: string | number };

interface ConnectionState extends WsConnection {
  alive: boolean;
  paused: boolean;
  afterWrite: (err?: Error) => void;
  /** The TCP/TLS socket under the WebSocket: replies written in one turn of the event loop are corked into one write. */
  raw: Duplex;
  corked: boolean;
  corkedFrames: number;
  uncork: () => void;
}

/**
 * Replies corked at most before they are flushed: the client starts on the first ones while the
 * server produces the rest (both cores busy), at the cost of one more write per 16 replies.
 */
const CORK_MAX_FRAMES = 16;

type RequestHandling = Server & {
  handleRequest?: (ctx: WsContext, produce: () => Promise<unknown>, respond: (p: WritePacket) => void) => Promise<void>;
};

/**
 * Nest microservice strategy serving the WebSocket transport, standalone or attached to an
 * existing HTTP(S) server. `NestFactory.createMicroservice(App, { strategy: new WsServer(options) })`.
 */
export class WsServer extends Server<WsServerEvents, WsServerStatus> implements CustomTransportStrategy {
  override readonly transportId = WS_TRANSPORT;
  private readonly options: ResolvedWsServerOptions;
  private readonly events = new EventEmitter();
  private readonly connections = new Set<ConnectionState>();
  private httpServer?: HttpServer | HttpsServer;
  private wss?: WebSocketServer;
  private heartbeat?: NodeJS.Timeout;
  private inFlight = 0;
  private whenIdle?: () => void;
  private closing = false;
  private suppressedLogs = 0;
  private lastProtocolLog = 0;
  private readonly routes = new RouteMemo(
    (p) => super.getRouteFromPattern(p),
    (route) => this.messageHandlers.has(route),
  );
  private readonly onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) =>
    void this.upgrade(request, socket, head).catch((err) => this.emitError(err));

  constructor(options: WsServerOptions = {}) {
    super();
    this.options = resolveServerOptions(options);
    this.initializeSerializer(options);
    this.initializeDeserializer(options);
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
      this.closing = false;
      this.wss = new WebSocketServer({
        noServer: true,
        clientTracking: false,
        maxPayload: this.options.maxPayload,
        perMessageDeflate: this.options.perMessageDeflate,
        handleProtocols: () => this.options.subprotocol,
      });
      this.startHeartbeat();
      if (this.options.server) {
        this.httpServer = this.options.server;
        this.httpServer.on('upgrade', this.onUpgrade);
        this._status$.next(TransportStatus.CONNECTED);
        return callback();
      }
      const server = this.options.tls ? createHttpsServer(this.options.tls) : createHttpServer();
      this.httpServer = server;
      server.on('request', (_req, res) => res.writeHead(426, { 'Content-Type': 'text/plain' }).end('This endpoint speaks WebSocket only.\n'));
      server.on('upgrade', this.onUpgrade);
      server.on('error', (err) => this.emitError(err));
      server.once('error', (err) => {
        if (!server.listening) {
          clearInterval(this.heartbeat);
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
   * Graceful: stops accepting connections and reading new requests, waits up to
   * `closeTimeout` for in-flight handlers (their replies are sent), then closes every
   * connection with 1001.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.heartbeat);
    this.httpServer?.off('upgrade', this.onUpgrade);
    if (this.httpServer && !this.options.server) this.httpServer.close();
    for (const conn of this.connections) conn.socket.pause();
    await this.drainInFlight(this.options.closeTimeout);
    for (const conn of this.connections) conn.socket.resume(); // to read the peers' close frames
    await Promise.all([...this.connections].map((conn) => closeSocket(conn.socket, 1001, 'server shutting down')));
    this.connections.clear();
    this.wss?.close();
    this._status$.next(TransportStatus.DISCONNECTED);
    this.events.emit('close');
  }

  on<K extends keyof WsServerEvents>(event: K, callback: WsServerEvents[K]): this {
    this.events.on(event, callback as (...args: unknown[]) => void);
    return this;
  }

  /** The underlying `ws` WebSocketServer. */
  unwrap<T = WebSocketServer>(): T {
    if (!this.wss) {
      throw new Error('Not initialized. Please call the "listen"/"startAllMicroservices" method before accessing the server.');
    }
    return this.wss as T;
  }

  private async upgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const refuse = (status: number, reason: string) => {
      this.events.emit('rejected', request, status, reason);
      refuseUpgrade(socket, status, reason);
    };
    if (this.options.path && requestPath(request) !== this.options.path) {
      if (this.options.server) return; // another upgrade listener (e.g. a gateway) may own this path
      return refuse(404, `No WebSocket endpoint at this path; use ${this.options.path}`);
    }
    if (this.closing) return refuse(503, 'The server is shutting down');
    if (!offeredSubprotocols(request).includes(this.options.subprotocol)) {
      return refuse(400, `Offer the subprotocol "${this.options.subprotocol}" (the wire format this server speaks)`);
    }
    let auth: unknown;
    if (this.options.authenticate) {
      try {
        auth = await this.options.authenticate(request);
      } catch {
        auth = false;
      }
      if (auth === false) return refuse(401, 'Authentication failed');
    }
    if (this.closing || socket.destroyed) return refuse(503, 'The server is shutting down');
    this.wss!.handleUpgrade(request, socket, head, (ws) => this.accept(ws, request, auth, socket));
  }

  protected override getRouteFromPattern(pattern: string): string {
    return this.routes.route(pattern);
  }

  private accept(socket: WebSocket, request: IncomingMessage, auth: unknown, raw: Duplex): void {
    const conn: ConnectionState = {
      id: randomUUID(),
      socket,
      request,
      auth,
      alive: true,
      paused: false,
      afterWrite: () => {
        if (conn.paused && socket.bufferedAmount < this.options.maxBufferedBytes / 4) {
          conn.paused = false;
          socket.resume();
        }
      },
      raw,
      corked: false,
      corkedFrames: 0,
      uncork: () => {
        conn.corked = false;
        conn.corkedFrames = 0;
        raw.uncork();
      },
    };
    this.connections.add(conn);
    socket.on('pong', () => (conn.alive = true));
    socket.on('message', (data, isBinary) => void this.onFrame(conn, data, isBinary));
    // ws closes the connection itself on these (e.g. 1009 for maxPayload); we only report it.
    socket.on('error', (err) => this.protocolLog(conn, 1002, err.message));
    socket.on('close', (code, reason) => {
      this.connections.delete(conn);
      this.events.emit('disconnect', conn, code, reason.toString());
    });
    this.events.emit('connection', conn);
  }

  private async onFrame(conn: ConnectionState, data: RawData, isBinary: boolean): Promise<void> {
    const { codec } = this.options;
    if (isBinary !== codec.binary) {
      return this.protocolError(
        conn,
        1003,
        isBinary ? `binary frame on a ${codec.name} (text) connection` : `text frame on a ${codec.name} (binary) connection`,
      );
    }
    let value: unknown;
    let packet: InboundPacket;
    try {
      const frame = data as Buffer;
      value = codec.decode(isBinary ? frame : frame.toString('utf8'));
      packet = await this.deserializer.deserialize(value);
    } catch (err) {
      return this.protocolError(conn, 1007, err instanceof MalformedPacketError ? err.message : `undecodable frame: ${(err as Error).message}`);
    }
    if (!hasPattern(packet)) {
      const id = (value as { id?: unknown } | null)?.id;
      if (typeof id !== 'string') return this.protocolError(conn, 1007, 'a packet without "pattern"');
      this.protocolLog(conn, 0, 'a request without "pattern"');
      return this.write(conn, { id, err: { status: 'error', message: 'Malformed packet: it has no "pattern".' }, isDisposed: true });
    }
    const pattern = this.getPatternAsString(packet.pattern);
    const context = new WsContext([conn, pattern, sanitizeMetadata(packet.metadata)]);
    if (packet.id === undefined) {
      return void this.handleEvent(pattern, packet, context).catch((err) => this.logger.error(err));
    }
    await this.handleRequestPacket(conn, packet, pattern, context);
  }

  private async handleRequestPacket(conn: ConnectionState, packet: InboundPacket, pattern: string, context: WsContext): Promise<void> {
    const id = String(packet.id);
    const handler = this.getHandlerByPattern(pattern);
    if (!handler) {
      return this.write(conn, { id, status: 'error', err: NO_MESSAGE_HANDLER, isDisposed: true });
    }
    this.inFlight++;
    let settled = false;
    const settle = () => {
      if (settled) return;
      settled = true;
      if (--this.inFlight === 0) this.whenIdle?.();
    };
    const respond = (reply: WritePacket) => {
      this.write(conn, Object.assign(reply, { id }));
      if (reply.isDisposed) settle();
    };
    const produce = async () => this.transformToObservable(await handler(packet.data, context));
    try {
      const server = this as unknown as RequestHandling;
      if (typeof server.handleRequest === 'function') await server.handleRequest(context, produce, respond);
      else this.send(await produce(), respond);
    } catch (err) {
      this.logger.error(err);
      respond({ err: { status: 'error', message: 'Internal server error' }, isDisposed: true });
    }
  }

  private write(conn: ConnectionState, reply: WritePacket & { id: string }): void {
    const { socket } = conn;
    if (socket.readyState !== WebSocket.OPEN) return; // the peer is gone; its client failed the request
    const { codec, maxBufferedBytes } = this.options;
    let frame: string | Buffer;
    try {
      frame = codec.encode(this.serializer.serialize(reply));
    } catch (err) {
      this.logger.error(`Could not encode the reply to ${reply.id}: ${(err as Error).message}`);
      frame = codec.encode({ id: reply.id, err: { status: 'error', message: 'The reply could not be encoded' }, isDisposed: true });
    }
    if (!conn.corked) {
      // Frames stay separate WebSocket frames; only their TCP writes are batched (one writev
      // per turn of the event loop instead of one per reply).
      conn.corked = true;
      conn.raw.cork();
      setImmediate(conn.uncork);
    }
    socket.send(frame, { binary: codec.binary }, conn.afterWrite);
    if (++conn.corkedFrames >= CORK_MAX_FRAMES) {
      conn.corkedFrames = 0;
      conn.raw.uncork();
      conn.raw.cork();
    }
    if (socket.bufferedAmount > maxBufferedBytes) {
      this.protocolLog(conn, 1013, `peer does not read its replies (${socket.bufferedAmount} bytes queued)`);
      socket.terminate();
    } else if (!conn.paused && socket.bufferedAmount > maxBufferedBytes / 2) {
      conn.paused = true;
      socket.pause();
    }
  }

  private protocolError(conn: ConnectionState, code: number, reason: string): void {
    this.protocolLog(conn, code, reason);
    this.events.emit('protocol-error', conn, code, reason);
    closeSocket(conn.socket, code, reason.slice(0, 120));
  }

  /** Logs bad peers at most once a second, with a count of what was left out. */
  private protocolLog(conn: WsConnection, code: number, reason: string): void {
    const now = Date.now();
    if (now - this.lastProtocolLog < 1000) {
      this.suppressedLogs++;
      return;
    }
    const more = this.suppressedLogs ? ` (${this.suppressedLogs} similar reports suppressed)` : '';
    this.lastProtocolLog = now;
    this.suppressedLogs = 0;
    const action = code ? `closing it with ${code}` : 'answered with an error';
    this.logger.warn(`Connection ${conn.id} from ${conn.request.socket.remoteAddress ?? '?'}: ${reason}; ${action}${more}`);
  }

  private startHeartbeat(): void {
    if (!this.options.heartbeatInterval) return;
    this.heartbeat = setInterval(() => {
      for (const conn of this.connections) {
        if (!conn.alive) {
          conn.socket.terminate();
          continue;
        }
        conn.alive = false;
        conn.socket.ping();
      }
    }, this.options.heartbeatInterval);
    this.heartbeat.unref();
  }

  private drainInFlight(timeoutMs: number): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.whenIdle = done;
    });
  }

  private emitError(err: Error): void {
    if (this.events.listenerCount('error') > 0) this.events.emit('error', err);
    else this.logger.error(err);
  }
}

/** Closes with a code, and terminates a peer that does not answer the close within a second. */
function closeSocket(socket: WebSocket, code: number, reason: string): Promise<void> {
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
