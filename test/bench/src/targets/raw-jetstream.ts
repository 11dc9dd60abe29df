import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type Msg } from '@nats-io/transport-node';
import type { BenchPayload, TargetModule } from '../types.js';
import { deleteStreams, jetStreamNames, NATS_URL } from './jetstream-config.js';

type Packet = { pattern: string; data: BenchPayload; id?: string };
const encoder = new TextEncoder();
const encode = (value: unknown) => encoder.encode(JSON.stringify(value));

/**
 * Baseline: raw `@nats-io/jetstream` and `@nats-io/transport-node` doing what the transport does,
 * with Nest's JSON packet shape. Events: `js.publish()` awaiting the stream's ack; the server
 * consumes a durable pull consumer (`consume()`, 100 messages buffered, as the transport's
 * default concurrency) and acks each message after handling it. Requests: `nc.request()` on a
 * core NATS subject, a queue-group subscription that `respond()`s.
 */
export const target: TargetModule = {
  async startServer(env) {
    const names = jetStreamNames(env.ns);
    const nc = await connect({ servers: env.url ?? NATS_URL });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: names.stream, subjects: names.subjects });
    await jsm.consumers.add(names.stream, { durable_name: names.consumer, ack_policy: AckPolicy.Explicit });
    const consumer = await jetstream(nc).consumers.get(names.stream, names.consumer);
    const messages = await consumer.consume({ max_messages: 100 });
    const consuming = (async () => {
      for await (const m of messages) {
        env.onEvent((m.json() as Packet).data);
        m.ack();
      }
    })();
    const requests = nc.subscribe(`raw.${env.ns}.echo`, {
      queue: 'nest-rpc',
      callback: (_err, m: Msg) => {
        const packet = m.json() as Packet;
        m.respond(encode({ id: packet.id, response: packet.data, isDisposed: true }));
      },
    });
    return {
      close: async () => {
        requests.unsubscribe();
        await messages.close();
        await consuming;
        await nc.drain();
        await deleteStreams(env.url, [names.stream]);
      },
    };
  },
  async startClient(env) {
    const nc = await connect({ servers: env.url ?? NATS_URL });
    const js = jetstream(nc);
    const subject = jetStreamNames(env.ns).subject('tick');
    let nextId = 0;
    return {
      request: async (data) =>
        nc
          .request(`raw.${env.ns}.echo`, encode({ pattern: 'echo', data, id: String(++nextId) }), { timeout: 10_000 })
          .then((m) => (m.json() as { response: unknown }).response),
      emit: (data) => js.publish(subject, encode({ pattern: 'tick', data })),
      close: () => nc.drain(),
    };
  },
};
