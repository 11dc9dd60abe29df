export { clientProvider, type ClientOptionsOf, type TypedClientProvider } from '@nest-transports/shared';
export { JetStreamServer, JETSTREAM_TRANSPORT, type JetStreamServerEvents } from './server.js';
export { JetStreamClient, type JetStreamClientEvents } from './client.js';
export { JetStreamContext, type JetStreamAckControl } from './context.js';
export { JetStreamRecord, JetStreamRecordBuilder, type JetStreamRecordOptions } from './record.js';
export {
  JETSTREAM_DEFAULTS,
  validateServerOptions,
  validateClientOptions,
  type JetStreamCommonOptions,
  type JetStreamServerOptions,
  type JetStreamClientOptions,
} from './options.js';
export { JetStreamResourceError, subjectMatches } from './admin.js';
export { JetStreamHeaders, isValidSubject } from './wire.js';
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
