import type { ConsumerDeserializer } from '@nestjs/microservices';
import type { Codec } from './codec.js';
import { MalformedPacketError } from './errors.js';
import { hasPattern, type PacketMetadata, sanitizeMetadata } from './packets.js';

/** A packet taken from a broker message: an event, or a request when `id` is set. */
export interface DecodedPacket {
  pattern: unknown;
  data: unknown;
  /** Correlation id of a request, as the sender wrote it (a string, or a number from other producers). */
  id?: string | number;
  metadata?: PacketMetadata;
}

export interface DecodeInput {
  /** The body as the broker carries the codec's output (text, or bytes for a binary codec). */
  body: string | Buffer;
  /** The message carries the transport's own attributes: it claims to be a Nest packet. */
  fromNest: boolean;
  /** Pattern for a message that is not a Nest packet (another producer's); none: such a message is malformed. */
  defaultPattern?: string;
}

/**
 * Body → Nest packet, the one path every brokered server takes. A body that does not decode
 * is malformed if it claims to be a Nest packet (or no default pattern is set); otherwise the
 * raw body is handed on. The deserializer (Nest's by default) then maps a value that is not a
 * packet to `{ pattern: defaultPattern, data: value }`. Throws `MalformedPacketError`.
 */
export async function decodePacket(codec: Codec, deserializer: ConsumerDeserializer, input: DecodeInput): Promise<DecodedPacket> {
  const { body, fromNest, defaultPattern } = input;
  let value: unknown;
  try {
    value = codec.decode(body);
  } catch (err) {
    if (fromNest || defaultPattern === undefined) throw err instanceof MalformedPacketError ? err : new MalformedPacketError('the body does not decode', err);
    value = body;
  }
  const packet = (await deserializer.deserialize(value, { channel: defaultPattern })) as unknown as Record<string, unknown> | undefined;
  if (!packet || typeof packet !== 'object') throw new MalformedPacketError('the deserializer returned no packet');
  let pattern = packet.pattern;
  if (!hasPattern(packet)) {
    if (defaultPattern === undefined) {
      throw new MalformedPacketError('the body is not a Nest packet (set the server option defaultPattern to route messages from other producers)');
    }
    pattern = defaultPattern;
  }
  const id = packet.id;
  if (id !== undefined && typeof id !== 'string' && !(typeof id === 'number' && Number.isFinite(id))) {
    throw new MalformedPacketError('the packet id is neither a string nor a number');
  }
  return { pattern, data: packet.data, id: id as string | number | undefined, metadata: sanitizeMetadata(packet.metadata) };
}
