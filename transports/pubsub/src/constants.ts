import { WireAttributes } from '@nest-transports/shared';

/** Message attributes the transport reads and writes: the shared wire names (keys may not start with "goog"). */
export const PubSubAttributes = WireAttributes;

/** Pub/Sub's limit on a message (data plus attributes), in bytes. */
export const PUBSUB_MAX_MESSAGE_BYTES = 10_000_000;
/** Pub/Sub's limit on one attribute value, in bytes. */
export const PUBSUB_MAX_ATTRIBUTE_VALUE_BYTES = 1024;

export const PUBSUB_TRANSPORT = Symbol.for('nest-transports:pubsub');
