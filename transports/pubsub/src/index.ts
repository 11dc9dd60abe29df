export { clientProvider, type ClientOptionsOf, type TypedClientProvider } from '@nest-transports/shared';
export { PubSubServer, type PubSubServerEvents } from './server.js';
export { PubSubClient, type PubSubClientEvents } from './client.js';
export { PubSubContext, type PubSubInboundMessage, type PubSubAckControl } from './context.js';
export { PubSubRecord, PubSubRecordBuilder, type PubSubRecordOptions } from './record.js';
export type { PulledMessage } from './unary-pull.js';
export {
  PUBSUB_DEFAULTS,
  validateServerOptions,
  validateClientOptions,
  type PubSubCommonOptions,
  type PubSubServerOptions,
  type PubSubClientOptions,
  type PubSubSubscriptionSpec,
  type PubSubFlowControl,
} from './options.js';
export { parsePushRequest, type PubSubPushRequest, type PubSubPushResult } from './push.js';
export { PubSubCredentialsError, PubSubResourceMissingError } from './errors.js';
export { PubSubAttributes, PUBSUB_MAX_MESSAGE_BYTES, PUBSUB_TRANSPORT } from './constants.js';
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
