import { type JetStreamClient, type JetStreamManager, RetentionPolicy } from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { describeError, type LogThrottle } from '@nest-transports/shared';
import { JetStreamHeaders } from './wire.js';

/** A message on its way to the dead-letter subject. */
export interface DeadMessage {
  subject: string;
  data: Uint8Array;
  headers?: MsgHdrs;
  /** Stream sequence, when it came from the stream. */
  seq?: number;
  deliveries?: number;
}

export interface DeadLetterSettings {
  subject: string;
  stream: string;
  consumer: string;
  publishTimeout: number;
}

/**
 * Publishes dead messages to the dead-letter subject (a stream captures it): the original body and
 * headers, plus `nest-dead-letter-*` headers saying why, from where, and after how many deliveries.
 *
 * The server dead-letters a message itself on its last delivery (it knows the handler's error). A
 * message that reaches the consumer's `max_deliver` otherwise — its handler hung past `ack_wait`,
 * the process died — is announced by JetStream's MAX_DELIVERIES advisory: one server of the queue
 * group reads it back from the stream by sequence and dead-letters it too.
 */
export class DeadLetters {
  private advisories?: Subscription;

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly settings: DeadLetterSettings,
    private readonly logs: LogThrottle,
  ) {}

  async publish(message: DeadMessage, reason: string): Promise<void> {
    const h = natsHeaders();
    for (const key of message.headers?.keys() ?? []) {
      if (!keepHeader(key)) continue;
      for (const value of message.headers!.values(key)) h.append(key, value);
    }
    const { stream, consumer } = this.settings;
    h.set(JetStreamHeaders.DEAD_LETTER_REASON, oneLine(reason));
    h.set(JetStreamHeaders.DEAD_LETTER_STREAM, stream);
    h.set(JetStreamHeaders.DEAD_LETTER_CONSUMER, consumer);
    h.set(JetStreamHeaders.DEAD_LETTER_SUBJECT, message.subject);
    if (message.seq !== undefined) h.set(JetStreamHeaders.DEAD_LETTER_SEQUENCE, String(message.seq));
    if (message.deliveries !== undefined) h.set(JetStreamHeaders.DEAD_LETTER_DELIVERIES, String(message.deliveries));
    await this.js.publish(this.settings.subject, message.data, { headers: h, timeout: this.settings.publishTimeout });
  }

  /** Follows the MAX_DELIVERIES advisories of the consumer; servers sharing `queue` split them. */
  listen(nc: NatsConnection, queue: string): void {
    const { stream, consumer } = this.settings;
    this.advisories = nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.${consumer}`, {
      queue: `${queue}.dead-letter`,
      callback: (err, msg) => {
        if (!err) void this.onAdvisory(msg.data);
      },
    });
  }

  stop(): void {
    this.advisories?.unsubscribe();
    this.advisories = undefined;
  }

  private async onAdvisory(data: Uint8Array): Promise<void> {
    const { stream } = this.settings;
    let seq: number | undefined;
    try {
      const advisory = JSON.parse(Buffer.from(data).toString('utf8')) as { stream_seq?: unknown; deliveries?: unknown };
      seq = typeof advisory.stream_seq === 'number' ? advisory.stream_seq : undefined;
      if (seq === undefined) return;
      const stored = await this.jsm.streams.getMessage(stream, { seq });
      if (!stored) return; // gone already (limits, or another server took it)
      const deliveries = typeof advisory.deliveries === 'number' ? advisory.deliveries : undefined;
      await this.publish(
        { subject: stored.subject, data: stored.data, headers: stored.header, seq, deliveries },
        `delivered ${deliveries ?? 'max_deliver'} times without being acknowledged (the consumer's max_deliver)`,
      );
      // A work queue keeps an unacknowledged message for ever: it lives on in the dead-letter stream now.
      const info = await this.jsm.streams.info(stream);
      if (info.config.retention === RetentionPolicy.Workqueue) await this.jsm.streams.deleteMessage(stream, seq);
    } catch (err) {
      this.logs.log(
        'error',
        'dead-letter-advisory',
        () => `Could not dead-letter message ${seq ?? '?'} of stream ${stream} after its last delivery: ${describeError(err).message}`,
      );
    }
  }
}

/**
 * JetStream acts on its `Nats-*` publish headers (expected sequence, rollup, TTL…): copied onto the
 * dead letter they would make its publish fail or misbehave. `Nats-Msg-Id` stays: the dead-letter
 * stream then stores one dead letter per message, however often it is dead-lettered.
 */
function keepHeader(key: string): boolean {
  const lower = key.toLowerCase();
  return !lower.startsWith('nats-') || lower === 'nats-msg-id';
}

/** Header values cannot hold line breaks; long reasons are cut. */
function oneLine(text: string): string {
  const flat = text.replace(/[\r\n]+/g, ' ').trim();
  return flat.length > 1000 ? `${flat.slice(0, 1000)}…` : flat;
}
