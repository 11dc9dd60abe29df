/** The redelivery settings of a subscription, as read at start (they decide who backs off a failing message). */
export interface RedeliveryPolicy {
  /** `maxDeliveryAttempts` of its dead-letter policy; undefined: it has none. */
  maxDeliveryAttempts?: number;
  /** It has a retry policy: Pub/Sub itself delays redeliveries after a nack. */
  retryPolicy: boolean;
  /** How long Pub/Sub waits for an ack before it redelivers, in seconds. */
  ackDeadlineSeconds: number;
}

/** Seconds a failing message is held before its nack, by attempt, when Pub/Sub has no policy that would: 1, 2, 4 … 60. */
export const REDELIVERY_BACKOFF = { initialSeconds: 1, maxSeconds: 60 };

export function backoffSeconds(attempt: number): number {
  return Math.min(REDELIVERY_BACKOFF.maxSeconds, REDELIVERY_BACKOFF.initialSeconds * 2 ** Math.max(0, attempt - 1));
}

/**
 * How often this server got each message, for subscriptions where Pub/Sub does not count
 * (`deliveryAttempt` comes only with a dead-letter policy). Bounded in entries: the oldest is
 * forgotten first, and a message is forgotten once acknowledged.
 */
export class DeliveryCounts {
  private readonly counts = new Map<string, number>();

  constructor(private readonly maxEntries = 10_000) {}

  /** Counts one more delivery of `id`; returns the count (1 on first). */
  next(id: string): number {
    const count = (this.counts.get(id) ?? 0) + 1;
    this.counts.delete(id);
    if (this.counts.size >= this.maxEntries) this.counts.delete(this.counts.keys().next().value as string);
    this.counts.set(id, count);
    return count;
  }

  forget(id: string): void {
    this.counts.delete(id);
  }
}

/** The start-up advice for a subscription without a dead-letter policy. */
export function deadLetterAdvice(subscription: string, policy: RedeliveryPolicy): string {
  const short = subscription.split('/').pop();
  const pace = policy.retryPolicy
    ? 'its retry policy spaces the redeliveries'
    : `the server holds it ${REDELIVERY_BACKOFF.initialSeconds} s, 2 s, 4 s … up to ${REDELIVERY_BACKOFF.maxSeconds} s before each nack`;
  return (
    `Subscription ${subscription} has no dead-letter policy: a message whose handler always fails comes back until its retention ends (${pace}). ` +
    `Give it one: gcloud pubsub subscriptions update ${short} --dead-letter-topic=DEAD_LETTER_TOPIC --max-delivery-attempts=5 ` +
    '(or create.deadLetterPolicy with autoCreate).'
  );
}
