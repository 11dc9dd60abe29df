import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import { RESERVED_ATTRIBUTE_PREFIX, WireAttributes } from '@nest-transports/shared';

/**
 * The wire: the packet (Nest's `{ pattern, data, id? }`, through the serializer and codec) is the
 * message body; the transport's own headers carry the route (`nest-pattern`), a request's
 * correlation id (`nest-id`) and a reply's position (`nest-id`, `nest-seq`). A request's reply
 * subject is the NATS reply subject of the message, as with any NATS request.
 */
export const JetStreamHeaders = {
  ...WireAttributes,
  /** On a dead-lettered message: why it was dead-lettered. */
  DEAD_LETTER_REASON: 'nest-dead-letter-reason',
  /** On a dead-lettered message: its stream, consumer, subject, stream sequence and deliveries. */
  DEAD_LETTER_STREAM: 'nest-dead-letter-stream',
  DEAD_LETTER_CONSUMER: 'nest-dead-letter-consumer',
  DEAD_LETTER_SUBJECT: 'nest-dead-letter-subject',
  DEAD_LETTER_SEQUENCE: 'nest-dead-letter-sequence',
  DEAD_LETTER_DELIVERIES: 'nest-dead-letter-deliveries',
} as const;

/** A subject NATS accepts for publishing: dot-separated non-empty tokens, no whitespace, no wildcard tokens. */
export function isValidSubject(subject: string): boolean {
  if (subject.length === 0 || /\s/.test(subject)) return false;
  return subject.split('.').every((token) => token.length > 0 && token !== '*' && token !== '>');
}

/** Headers of an outgoing message: the user's (never the reserved `nest-*` ones), then the transport's. */
export function buildHeaders(user: Readonly<Record<string, string>> | undefined, own: Readonly<Record<string, string>>): MsgHdrs {
  const h = natsHeaders();
  if (user) {
    for (const [key, value] of Object.entries(user)) {
      if (!key.toLowerCase().startsWith(RESERVED_ATTRIBUTE_PREFIX)) h.set(key, value);
    }
  }
  for (const [key, value] of Object.entries(own)) h.set(key, value);
  return h;
}

/** Headers as string pairs (the first value of each key). */
export function headerRecord(h: MsgHdrs | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  for (const key of h.keys()) out[key] = h.get(key);
  return out;
}

/** Bytes NATS counts against `max_payload` for a message: the body plus its encoded headers. */
export function messageSize(body: string | Uint8Array, h?: MsgHdrs): number {
  const size = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  return size + (h ? (h as MsgHdrs & { encode(): Uint8Array }).encode().byteLength : 0);
}

/** The request subject of a route. */
export const requestSubject = (prefix: string, route: string) => `${prefix}.${route}`;

/** The body as the codec reads it: text for a text codec, bytes for a binary one. */
export function bodyForCodec(binary: boolean, data: Uint8Array): string | Buffer {
  const buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return binary ? buffer : buffer.toString('utf8');
}
