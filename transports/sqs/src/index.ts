export { clientProvider, type ClientOptionsOf, type TypedClientProvider } from '@nest-transports/shared';
export { SqsServer, SQS_TRANSPORT, type SqsServerEvents } from './server.js';
export { SqsClient, type SqsClientEvents } from './client.js';
export { SqsContext, type SqsSettlement } from './context.js';
export { SqsRecord, SqsRecordBuilder, type SqsRecordOptions, type SqsAttributeInput } from './record.js';
export {
  SQS_DEFAULT_MAX_MESSAGE_BYTES,
  SQS_MAX_MESSAGE_BYTES,
  SQS_SERVER_DEFAULTS,
  SQS_CLIENT_DEFAULTS,
  SQS_SYSTEM_ATTRIBUTES,
  resolveClientOptions,
  resolveServerOptions,
  type SqsClientOptions,
  type SqsServerOptions,
  type SqsSystemAttributeName,
} from './options.js';
export { QueueNotFoundError, SqsAccessError, SqsCredentialsExpiredError, type QueueInfo, type SqsClientLike, type SqsOption } from './sqs-api.js';
export { SqsBatchError } from './operations.js';
export { toSqsMessage, queueUrlFromArn, type SqsLambdaEvent, type SqsLambdaRecord, type SqsBatchResponse } from './lambda.js';
export { removeIdleReplyQueues, ReplyQueueTag, type IdleReplyQueue, type RemoveIdleReplyQueuesOptions } from './reply-queues.js';
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
