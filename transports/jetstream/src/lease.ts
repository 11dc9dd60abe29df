import type { JsMsg } from '@nats-io/jetstream';
import { Renewal } from '@nest-transports/shared';

/**
 * Keeps held messages from being redelivered while their handlers run: every third of the
 * consumer's `ack_wait` each held message gets a `working()` (in progress) ack, which restarts its
 * ack timer.
 */
export class LeaseKeeper extends Renewal<JsMsg> {
  constructor() {
    super((messages) => {
      for (const message of messages) {
        try {
          message.working();
        } catch {
          // the connection is gone; the message is redelivered after ack_wait, as it would be anyway
        }
      }
    });
  }

  /** Sets the interval from the consumer's ack wait (ms). */
  setAckWait(ackWaitMs: number): void {
    this.setInterval(Math.max(100, Math.floor(ackWaitMs / 3)));
  }
}
