/** What travels through a queue, as JSON text: the serialized packet and the transport's own fields. */
export interface Envelope {
  /** The serializer's output for the packet (request, event or reply). */
  packet: unknown;
  /** The queue the reply goes to (requests only). */
  replyTo?: string;
  headers?: Record<string, string>;
}

export const encode = (envelope: Envelope): string => JSON.stringify(envelope);

export function decode(body: string): Envelope {
  const parsed = JSON.parse(body) as Envelope;
  if (!parsed || typeof parsed !== 'object' || !('packet' in parsed)) throw new Error('not a memory transport message');
  return parsed;
}
