import type { PubSub } from '@google-cloud/pubsub';
import { TransportError } from '@nest-transports/shared';
import { endpointOf } from './admin.js';
import { PUBSUB_DEFAULTS } from './options.js';

const TIMED_OUT = Symbol('timed out');

/**
 * Waits at most `timeoutMs` (the `publishTimeout` option) for Pub/Sub to accept a message, then
 * fails with code `PUBLISH_TIMEOUT`: while Pub/Sub is unreachable the library alone retries for up
 * to a minute. The error is made only on timeout: an Error per publish (its stack trace) was the
 * transport's costliest frame at 100 requests in flight.
 */
export async function acceptedWithin<T>(published: Promise<T>, transport: string, pubsub: PubSub, topic: string, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(resolve, timeoutMs, TIMED_OUT)));
  try {
    const result = await Promise.race([published, timedOut]);
    if (result !== TIMED_OUT) return result;
  } finally {
    clearTimeout(timer);
  }
  throw new TransportError(
    'PUBLISH_TIMEOUT',
    `${transport}: Pub/Sub at ${endpointOf(pubsub)} did not accept the message for topic ${topic} within ${timeoutMs} ms (publishTimeout); it may or may not be published.`,
    { cause: new Error(`no answer within ${timeoutMs} ms`) },
  );
}

/**
 * The publisher settings of a topic: batches wait `PUBSUB_DEFAULTS.publishBatchingMs` unless the user
 * says otherwise (the library's 10 ms is added to every hop of a request at low load), and the
 * library's own retries end with `publishTimeout` too, instead of going on after the caller was failed.
 */
export function publisherOptions<O extends { gaxOpts?: object; batching?: object }>(
  options: O | undefined,
  publishTimeout: number,
): O & { gaxOpts: object; batching: object } {
  return {
    ...(options as O),
    batching: { maxMilliseconds: PUBSUB_DEFAULTS.publishBatchingMs, ...options?.batching },
    gaxOpts: { timeout: publishTimeout, ...options?.gaxOpts },
  };
}
