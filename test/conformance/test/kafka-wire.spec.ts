import { describe, expect, it } from '@jest/globals';
import { KafkaParser } from '@nestjs/microservices';
import { KafkaRequestSerializer } from '@nestjs/microservices/serializers/kafka-request.serializer.js';
import { kafkaWire } from '../src/descriptors/kafka.js';

/** One trip through Nest's own Kafka codecs, as the transporter makes it (no broker needed). */
function overKafka(value: unknown): unknown {
  const { value: encoded } = new KafkaRequestSerializer().serialize(value) as { value: string | Buffer | null };
  // KafkaJS sends strings as UTF-8 bytes; the receiving side parses the Buffer.
  const bytes = encoded === null ? null : Buffer.isBuffer(encoded) ? encoded : Buffer.from(encoded);
  return new KafkaParser().parse({ value: bytes, headers: {} } as any).value;
}

describe('kafkaWire: the Kafka descriptor states exactly what Nest does to a value', () => {
  const samples: unknown[] = [
    6,
    0,
    -42.5,
    Number.MAX_SAFE_INTEGER,
    true,
    false,
    null,
    'plain',
    '',
    'héllo — 🚀',
    '{"a":1}',
    '[1,2]',
    '{not json',
    '\u0000binary',
    { nested: { n: 1, b: true, s: '2' } },
    [null, 1, 'a', [2, [3]], {}],
  ];

  it.each(samples.map((s) => [JSON.stringify(s), s]))('%s', (_, sample) => {
    expect(kafkaWire(sample)).toEqual(overKafka(sample));
  });

  it('is idempotent, so a request and its echoed reply map alike', () => {
    for (const sample of samples) expect(kafkaWire(kafkaWire(sample))).toEqual(kafkaWire(sample));
  });

  it('numbers and booleans arrive as strings (the documented difference)', () => {
    expect(overKafka(6)).toBe('6');
    expect(overKafka(true)).toBe('true');
  });
});
