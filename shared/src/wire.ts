/**
 * Names every broker transport gives its own message attributes (SQS message attributes,
 * Pub/Sub attributes, JetStream and Redis Streams headers or fields). The packet itself travels
 * in the body; these let a server route, answer and order without decoding it first.
 */
export const WireAttributes = {
  /** The route of the packet's pattern (subscription filters can select on it). */
  PATTERN: 'nest-pattern',
  /** Correlation id of a request and of its replies. */
  ID: 'nest-id',
  /** Where the replies of a request go (a queue URL, a topic…), set by the requesting client. */
  REPLY_TO: 'nest-reply-to',
  /** Position of a reply in its response stream (0, 1, 2…): the client restores the order. */
  SEQ: 'nest-seq',
} as const;

/** Attribute names starting with this are the transport's own. */
export const RESERVED_ATTRIBUTE_PREFIX = 'nest-';
