import type { ReadPacket } from '@nestjs/microservices';
import { hasPattern } from '@nest-transports/shared';

export type InboundPacket = ReadPacket & { id?: unknown; metadata?: unknown };

/** What one decoded frame asks of the server. */
export type Inbound =
  | { kind: 'event'; packet: InboundPacket }
  | { kind: 'request'; id: string; packet: InboundPacket }
  /** A request without a usable pattern: answered with an error under its id. */
  | { kind: 'no-pattern'; id: string }
  /** Not a packet: the connection is closed with 1007. */
  | { kind: 'invalid'; reason: string };

/**
 * Sorts a deserialized frame by its `id` and `pattern` types, touching nothing deeper: ids are
 * strings or finite numbers (answered as strings); an absent or `null` id makes an event.
 * `raw` is the decoded frame before the deserializer, which drops the id of some shapes.
 */
export function classifyInbound(packet: unknown, raw: unknown): Inbound {
  const source = isObject(packet) && 'id' in packet ? packet : raw;
  const rawId = isObject(source) ? source.id : undefined;
  let id: string | undefined;
  if (typeof rawId === 'string') id = rawId;
  else if (typeof rawId === 'number' && Number.isFinite(rawId)) id = String(rawId);
  else if (rawId !== undefined && rawId !== null) return { kind: 'invalid', reason: `"id" is ${describeType(rawId)}; use a string or a number` };
  if (!hasPattern(packet)) {
    return id === undefined ? { kind: 'invalid', reason: 'a packet without "pattern"' } : { kind: 'no-pattern', id };
  }
  return id === undefined ? { kind: 'event', packet } : { kind: 'request', id, packet };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** A short name of a value's type that never walks into it (a deep array must not cost a stack). */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}
