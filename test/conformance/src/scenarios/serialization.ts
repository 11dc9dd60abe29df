import assert from 'node:assert/strict';
import { IncomingRequestDeserializer, IncomingResponseDeserializer, type Deserializer, type Serializer } from '@nestjs/microservices';
import type { CodecOverrides, TransportDescriptor } from '../descriptor.js';
import type { Scenario } from '../scenario.js';
import { onMessage, request } from '../rig.js';

const identity: Serializer = { serialize: (value: unknown) => value };

export function defaultCodecs(t: TransportDescriptor): NonNullable<TransportDescriptor['codecs']> {
  return (
    t.codecs ?? {
      clientSerializer: () => identity,
      clientDeserializer: () => new IncomingResponseDeserializer(),
      serverSerializer: () => identity,
      serverDeserializer: () => new IncomingRequestDeserializer(),
    }
  );
}

/**
 * Wraps `field` of every outgoing packet in an envelope and unwraps it on the way in, counting both.
 * Where the transport hands its serializers only the payload (`serializes: 'payload'`), that is wrapped.
 */
function envelope(
  field: 'data' | 'response',
  base: { ser: Serializer; de: Deserializer },
  counts: Record<string, number>,
  serializes: 'packet' | 'payload' = 'packet',
): CodecOverrides {
  const wrap = (packet: any) => {
    if (serializes === 'payload') return packet === undefined ? packet : { envelope: packet };
    return field in packet && packet[field] !== undefined ? { ...packet, [field]: { envelope: packet[field] } } : packet;
  };
  return {
    serializer: {
      serialize(packet: any, options?: any) {
        counts[`serialize ${field}`] = (counts[`serialize ${field}`] ?? 0) + 1;
        const wrapped = wrap(packet);
        return base.ser.serialize(wrapped, options);
      },
    },
    deserializer: {
      async deserialize(value: any, options?: any) {
        const packet: any = await base.de.deserialize(value, options);
        const other = field === 'data' ? 'response' : 'data';
        if (packet?.[other] && typeof packet[other] === 'object' && 'envelope' in packet[other]) {
          counts[`deserialize ${other}`] = (counts[`deserialize ${other}`] ?? 0) + 1;
          return { ...packet, [other]: packet[other].envelope };
        }
        return packet;
      },
    },
  };
}

export const serialization: Scenario[] = [
  {
    id: 'ser.custom',
    title: 'custom serializer/deserializer options work on both ends',
    needs: ['requestResponse'],
    async run(rig) {
      const base = defaultCodecs(rig.transport);
      const counts: Record<string, number> = {};
      const seen: unknown[] = [];
      await rig.server(
        [
          onMessage(rig.p('echo'), (data: unknown) => {
            seen.push(data);
            return { echoed: data };
          }),
        ],
        { codecs: envelope('response', { ser: base.serverSerializer(), de: base.serverDeserializer() }, counts, base.serializes) },
      );
      const client = rig.client({ codecs: envelope('data', { ser: base.clientSerializer(), de: base.clientDeserializer() }, counts, base.serializes) });
      assert.deepEqual(await request(client, rig.p('echo'), { n: 1 }), { echoed: { n: 1 } });
      assert.deepEqual(seen, [{ n: 1 }], 'the handler saw the unwrapped payload');
      for (const step of ['serialize data', 'deserialize data', 'serialize response', 'deserialize response'])
        assert.ok(counts[step] >= 1, `${step} ran through the custom codec (${JSON.stringify(counts)})`);
    },
  },
];
