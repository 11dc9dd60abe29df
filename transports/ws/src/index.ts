export { clientProvider, type ClientOptionsOf, type TypedClientProvider } from '@nest-transports/shared';
export { WsServer, WS_TRANSPORT, type WsServerEvents, type WsServerStatus } from './server.js';
export { WsClient, type WsClientEvents, type WsClientStatus } from './client.js';
export { WsContext, type WsConnection } from './context.js';
export { WsRecord, WsRecordBuilder, type WsRecordOptions } from './record.js';
export {
  WS_SUBPROTOCOL,
  WS_SERVER_DEFAULTS,
  WS_CLIENT_DEFAULTS,
  type WsServerOptions,
  type WsClientOptions,
  type WsReconnectOptions,
  type WsAuthenticate,
} from './options.js';
export { ServerShuttingDownError } from './errors.js';
export { WS_CLOSE_CODES, SERVER_SHUTTING_DOWN, CLOSE_REASON_DRAINED, CLOSE_REASON_CUT_OFF, type ShuttingDownReply } from './wire.js';
// The errors users catch, so that they need not depend on @nest-transports/shared themselves.
export {
  TransportError,
  InvalidOptionError,
  PayloadTooLargeError,
  RequestTimeoutError,
  ConnectionClosedError,
  BackendUnreachableError,
  MalformedPacketError,
} from '@nest-transports/shared';
