/** What a transport can claim. A scenario needing a capability the transport does not claim is `n/a`. */
export const CAPABILITIES = [
  'requestResponse',
  'events',
  'streaming',
  'objectPatterns',
  'metadata',
  'orderedEvents',
  'redelivery',
  'durable',
  'gracefulClose',
  'reconnect',
  'competingConsumers',
  /** Two servers on the same pattern each handle every event (pub/sub). */
  'fanOut',
  /** The transport enforces a payload limit and reports it clearly (rr.payload-too-large). */
  'payloadLimit',
  /** A peer that never reads its replies cannot grow the server's memory without bound. */
  'backpressure',
] as const;
export type Capability = (typeof CAPABILITIES)[number];
