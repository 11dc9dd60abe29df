import {
  AckPolicy,
  type ConsumerConfig,
  type ConsumerInfo,
  DeliverPolicy,
  type JetStreamManager,
  ReplayPolicy,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import { messageOf, TransportError } from '@nest-transports/shared';

/** A stream or consumer the transport needs is missing (and `autoCreate` is off), or unfit. */
export class JetStreamResourceError extends TransportError {
  constructor(message: string) {
    super('RESOURCE_MISSING', message);
  }
}

const STREAM_NOT_FOUND = 10059;
const CONSUMER_NOT_FOUND = 10014;
const apiCode = (err: unknown) => (err as { code?: unknown } | null)?.code;

/** True when `subject` is matched by the NATS subject filter `filter` (`*` one token, `>` the rest). */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return s.length > i;
    if (i >= s.length || (f[i] !== '*' && f[i] !== s[i])) return false;
  }
  return f.length === s.length;
}

/**
 * The checks and the optional provisioning a server runs at `listen()`: the stream and the
 * durable consumer (explicit acks, pull), the dead-letter stream, and no stream over a request
 * subject. Missing resources are created only with `autoCreate`; otherwise the error names what is
 * missing and how to create it.
 */
export class JetStreamAdmin {
  constructor(
    private readonly jsm: JetStreamManager,
    private readonly transport: string,
  ) {}

  async ensureStream(name: string, autoCreate: boolean, config: Partial<StreamConfig> | undefined): Promise<StreamInfo> {
    try {
      return await this.jsm.streams.info(name);
    } catch (err) {
      if (apiCode(err) !== STREAM_NOT_FOUND) throw err;
    }
    if (!autoCreate || !config?.subjects?.length) {
      throw new JetStreamResourceError(
        `${this.transport}: stream "${name}" does not exist. Create it (e.g. nats stream add ${name} --subjects "orders.>"), ` +
          `or let the server create it: ${autoCreate ? '' : 'autoCreate: true with '}streamConfig: { subjects: [...] }, the subjects it captures.`,
      );
    }
    return this.jsm.streams.add({ ...config, name });
  }

  async ensureConsumer(
    stream: string,
    name: string,
    autoCreate: boolean,
    config: Partial<ConsumerConfig> | undefined,
    maxDeliveries: number,
  ): Promise<ConsumerInfo> {
    let info: ConsumerInfo | undefined;
    try {
      info = await this.jsm.consumers.info(stream, name);
    } catch (err) {
      if (apiCode(err) !== CONSUMER_NOT_FOUND) throw err;
    }
    if (!info) {
      if (!autoCreate) {
        throw new JetStreamResourceError(
          `${this.transport}: consumer "${name}" of stream "${stream}" does not exist. Create a durable pull consumer with explicit acks ` +
            `(e.g. nats consumer add ${stream} ${name} --pull --ack explicit --max-deliver ${maxDeliveries}), or set autoCreate: true.`,
        );
      }
      info = await this.jsm.consumers.add(stream, {
        deliver_policy: DeliverPolicy.All,
        replay_policy: ReplayPolicy.Instant,
        max_deliver: maxDeliveries,
        ...config,
        durable_name: name,
        ack_policy: AckPolicy.Explicit,
      });
    }
    const { config: actual } = info;
    if (actual.deliver_subject) {
      throw new JetStreamResourceError(
        `${this.transport}: consumer "${name}" of stream "${stream}" is a push consumer (deliver subject ${actual.deliver_subject}). Use a pull consumer (no deliver subject).`,
      );
    }
    if (actual.ack_policy !== AckPolicy.Explicit) {
      throw new JetStreamResourceError(
        `${this.transport}: consumer "${name}" of stream "${stream}" acknowledges with policy "${actual.ack_policy}". ` +
          'The transport acknowledges each message after its handlers succeeded, which needs ack policy "explicit".',
      );
    }
    return info;
  }

  /** The stream that captures the dead-letter subject; created (`${stream}_DEAD_LETTER`) with `autoCreate`. */
  async ensureDeadLetterStream(subject: string, mainStream: string, filter: string | undefined, autoCreate: boolean): Promise<string> {
    let name: string | undefined;
    try {
      name = await this.jsm.streams.find(subject);
    } catch (err) {
      if (!/no stream matches subject/i.test(messageOf(err) ?? '')) throw err;
    }
    if (name === mainStream && (filter === undefined || subjectMatches(filter, subject))) {
      throw new JetStreamResourceError(
        `${this.transport}: the dead-letter subject "${subject}" is captured by stream "${mainStream}" and its consumer would take the dead letters back. ` +
          'Use a subject outside that stream (e.g. "dead-letter.orders").',
      );
    }
    if (name) return name;
    if (!autoCreate) {
      throw new JetStreamResourceError(
        `${this.transport}: no stream captures the dead-letter subject "${subject}". Create one (e.g. nats stream add ${mainStream}_DEAD_LETTER --subjects "${subject}"), or set autoCreate: true.`,
      );
    }
    name = `${mainStream}_DEAD_LETTER`;
    await this.jsm.streams.add({ name, subjects: [subject] });
    return name;
  }

  /** A stream over a request subject would answer each request with its publish ack: refuse to start. */
  async checkRequestSubjects(subjects: string[]): Promise<void> {
    if (subjects.length === 0) return;
    const streams: StreamInfo[] = [];
    for await (const info of this.jsm.streams.list()) streams.push(info);
    for (const subject of subjects) {
      const stream = streams.find((s) => (s.config.subjects ?? []).some((filter) => subjectMatches(filter, subject)));
      if (stream) {
        throw new JetStreamResourceError(
          `${this.transport}: stream "${stream.config.name}" captures the request subject "${subject}": its publish ack would answer every request. ` +
            "Requests travel over core NATS: narrow the stream's subjects, or choose another requestPrefix (on servers and clients).",
        );
      }
    }
  }
}
