export { clientProvider, type ClientOptionsOf, type TypedClientProvider } from '@nest-transports/shared';
export { RedisStreamsServer, REDIS_STREAMS_TRANSPORT, type RedisStreamsServerEvents } from './server.js';
export { RedisStreamsClient, type RedisStreamsClientEvents } from './client.js';
export { RedisStreamsContext, type RedisStreamsAckControl } from './context.js';
export { RedisStreamsRecord, RedisStreamsRecordBuilder, type RedisStreamsRecordOptions } from './record.js';
export {
  REDIS_STREAMS_DEFAULTS,
  validateServerOptions,
  validateClientOptions,
  type RedisStreamsCommonOptions,
  type RedisStreamsServerOptions,
  type RedisStreamsClientOptions,
} from './options.js';
export { RedisStreamsResourceError } from './admin.js';
export { RedisStreamsFields, type StreamEntry } from './wire.js';
// The errors users catch, so that they need not depend on @nest-transports/shared themselves.
export {
  TransportError,
  InvalidOptionError,
  PayloadTooLargeError,
  RequestTimeoutError,
  ConnectionClosedError,
  BackendUnreachableError,
  MalformedPacketError,
  type Outcome,
} from '@nest-transports/shared';
