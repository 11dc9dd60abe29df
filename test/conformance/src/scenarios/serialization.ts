import assert from 'node:assert/strict';
import type { Deserializer, Serializer } from '@nestjs/microservices';
import type { CodecOverrides } from '../descriptor.js';
import type { Scenario } from '../scenario.js';
import { onMessage, serverInstance } from '../rig.js';

type Codec = { serializer: Serializer; deserializer: Deserializer };

/**
 * The codecs `instance` (a server strategy or a client) uses when none are given: its own
 * `initializeSerializer({})` / `initializeDeserializer({})` (Nest's contract for every transport),
 * run on a shadow of the instance so that the instance keeps the scenario's codecs.
 */
export function defaultCodecsOf(instance: unknown, who: string): Codec {
  const shadow = Object.create(instance as object) as {
    initializeSerializer?(options: object): void;
    initializeDeserializer?(options: object): void;
    serializer?: Serializer;
    deserializer?: Deserializer;
  };
  const given = { serializer: shadow.serializer, deserializer: shadow.deserializer };
  if (typeof shadow.initializeSerializer !== 'function' || typeof shadow.initializeDeserializer !== 'function')
    throw new Error(`${who} has no initializeSerializer/initializeDeserializer: it does not take serializer/deserializer options the way Nest's transports do`);
  shadow.initializeSerializer({});
  shadow.initializeDeserializer({});
  const found = { serializer: shadow.serializer, deserializer: shadow.deserializer };
  if (!found.serializer || !found.deserializer || found.serializer === given.serializer || found.deserializer === given.deserializer)
    throw new Error(
      `${who}: initializeSerializer({}) / initializeDeserializer({}) did not give its default codecs (does it read options other than its argument?)`,
    );
  return found as Codec;
}

/**
 * Wraps `field` of every outgoing packet in an envelope and unwraps it on the way in, counting both;
 * the wrapped value goes on through the transport's own default codec (bound once the instance exists).
 * Where the transport hands its serializers only the payload (`serializes: 'payload'`), that is wrapped.
 */
function envelope(field: 'data' | 'response', counts: Record<string, number>, serializes: 'packet' | 'payload' = 'packet') {
  let base: Codec | undefined;
  const baseOf = () => {
    if (!base) throw new Error('the custom codec was used before the suite could bind it to the transport’s default');
    return base;
  };
  const wrap = (packet: any) => {
    if (serializes === 'payload') return packet === undefined ? packet : { envelope: packet };
    return packet && field in packet && packet[field] !== undefined ? { ...packet, [field]: { envelope: packet[field] } } : packet;
  };
  const codecs: CodecOverrides = {
    serializer: {
      serialize(packet: any, options?: any) {
        counts[`serialize ${field}`] = (counts[`serialize ${field}`] ?? 0) + 1;
        return baseOf().serializer.serialize(wrap(packet), options);
      },
    },
    deserializer: {
      async deserialize(value: any, options?: any) {
        const packet: any = await baseOf().deserializer.deserialize(value, options);
        const other = field === 'data' ? 'response' : 'data';
        if (packet?.[other] && typeof packet[other] === 'object' && 'envelope' in packet[other]) {
          counts[`deserialize ${other}`] = (counts[`deserialize ${other}`] ?? 0) + 1;
          return { ...packet, [other]: packet[other].envelope };
        }
        return packet;
      },
    },
  };
  return { codecs, bind: (instance: unknown, who: string) => void (base = defaultCodecsOf(instance, who)) };
}

export const serialization: Scenario[] = [
  {
    id: 'ser.custom',
    title: 'custom serializer/deserializer options work on both ends',
    needs: ['requestResponse'],
    patterns: { messages: ['echo'] },
    sends:
      '`echo` ← `{ n: 1 }` through a client whose serializer wraps `data` in `{ envelope }` and a server whose serializer wraps `response` the same way; each side’s deserializer unwraps, and both delegate to the transport’s default codecs',
    asserts: 'the handler sees `{ n: 1 }`, the client gets `{ echoed: { n: 1 } }`, and all four custom steps ran',
    async run(rig) {
      const serializes = rig.transport.codecs?.serializes;
      const counts: Record<string, number> = {};
      const seen: unknown[] = [];
      const serverCodec = envelope('response', counts, serializes);
      const app = await rig.createServer(
        [
          onMessage(rig.p('echo'), (data: unknown) => {
            seen.push(data);
            return { echoed: data };
          }),
        ],
        { codecs: serverCodec.codecs },
      );
      serverCodec.bind(serverInstance(app), 'the server');
      await rig.listen(app);
      const clientCodec = envelope('data', counts, serializes);
      const client = await rig.client({ codecs: clientCodec.codecs });
      clientCodec.bind(client, 'the client');
      assert.deepEqual(await rig.request(client, rig.p('echo'), { n: 1 }), { echoed: { n: 1 } });
      assert.deepEqual(seen, [{ n: 1 }], 'the handler saw the unwrapped payload');
      for (const step of ['serialize data', 'deserialize data', 'serialize response', 'deserialize response'])
        assert.ok(counts[step] >= 1, `${step} ran through the custom codec (${JSON.stringify(counts)})`);
    },
  },
];
