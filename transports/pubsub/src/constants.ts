/** Message attributes the transport reads and writes (keys may not start with "goog"). */
export const PubSubAttributes = {
  /** The route of the packet's pattern: lets subscription filters select patterns. */
  PATTERN: 'nest-pattern',
  /** Correlation id of a request and its replies. */
  ID: 'nest-id',
  /** Full name of the topic the reply goes to. */
  REPLY_TO: 'nest-reply-to',
  /** Position of a reply in its response stream (0, 1, 2…): the client restores the order. */
  SEQ: 'nest-seq',
} as const;

/** Pub/Sub's limit on a message (data plus attributes), in bytes. */
export const PUBSUB_MAX_MESSAGE_BYTES = 10_000_000;
/** Pub/Sub's limit on one attribute value, in bytes. */
export const PUBSUB_MAX_ATTRIBUTE_VALUE_BYTES = 1024;

export const PUBSUB_TRANSPORT = Symbol.for('nest-transports:pubsub');
