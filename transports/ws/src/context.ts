import type { IncomingMessage } from 'node:http';
import { BaseRpcContext } from '@nestjs/microservices';
import type { PacketMetadata } from '@nest-transports/shared';
import type { WebSocket } from 'ws';

/** One accepted connection: its socket, the upgrade request and what `authenticate` returned. */
export interface WsConnection {
  readonly id: string;
  readonly socket: WebSocket;
  readonly request: IncomingMessage;
  readonly auth: unknown;
}

type WsContextArgs = [connection: WsConnection, pattern: string, metadata: PacketMetadata | undefined];

/** What `@Ctx()` gets for a message that came over the WebSocket transport. */
export class WsContext extends BaseRpcContext<WsContextArgs> {
  constructor(args: WsContextArgs) {
    super(args);
  }

  /** The `ws` WebSocket the message came on. */
  getSocket(): WebSocket {
    return this.args[0].socket;
  }

  /** The HTTP upgrade request (headers, URL, remote address). */
  getRequest(): IncomingMessage {
    return this.args[0].request;
  }

  /** What the server's `authenticate` hook returned for this connection (`undefined` without one). */
  getAuth<T = unknown>(): T {
    return this.args[0].auth as T;
  }

  /** A server-unique id of the connection. */
  getConnectionId(): string {
    return this.args[0].id;
  }

  getPattern(): string {
    return this.args[1];
  }

  /** Packet metadata the client attached (Nest 12 dispatch hook or `WsRecord`). */
  getMetadata(): PacketMetadata | undefined {
    return this.args[2];
  }
}
