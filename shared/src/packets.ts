import type { PacketId, ReadPacket, WritePacket } from '@nestjs/microservices';

/** Nest 12 packet metadata (`ClientProxy#setOnDispatchHook`); plain string pairs. */
export type PacketMetadata = Record<string, string>;

/** A request on the wire: Nest's `ReadPacket` plus the correlation `id`. */
export interface RequestPacket<T = unknown> extends ReadPacket<T>, PacketId {
  metadata?: PacketMetadata;
}

/** An event on the wire: no `id`, so no reply is expected. */
export interface EventPacket<T = unknown> extends ReadPacket<T> {
  metadata?: PacketMetadata;
}

/** A reply on the wire. Nest 12's response deserializer rejects any other key. */
export interface ResponsePacket<T = unknown> extends WritePacket<T>, PacketId {}

/** The text Nest's built-ins reply with when no `@MessagePattern` matches. */
export const NO_MESSAGE_HANDLER = 'There is no matching message handler defined in the remote service.';

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export const hasPattern = (value: unknown): value is ReadPacket => isRecord(value) && (typeof value.pattern === 'string' || isRecord(value.pattern));

export const isRequestPacket = (value: unknown): value is RequestPacket => hasPattern(value) && typeof (value as Partial<PacketId>).id === 'string';

export const isEventPacket = (value: unknown): value is EventPacket => hasPattern(value) && (value as Partial<PacketId>).id === undefined;

export const isResponsePacket = (value: unknown): value is ResponsePacket => isRecord(value) && typeof value.id === 'string' && !('pattern' in value);

/** Keeps only string values: metadata crosses the wire as string pairs. */
export function sanitizeMetadata(value: unknown): PacketMetadata | undefined {
  if (!isRecord(value)) return undefined;
  const out: PacketMetadata = {};
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'string') out[key] = v;
  }
  return out;
}
