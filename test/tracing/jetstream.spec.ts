import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders } from '@nats-io/transport-node';
import { resolveBackend } from '@nest-transports/backends';
import { JetStreamClient, JetStreamServer } from '@nest-transports/jetstream';
import { uniqueName } from '@nest-transports/shared';
import { describeTracing } from './scenarios.js';

describeTracing('jetstream', async () => {
  const backend = await resolveBackend('nats');
  if (!backend.available) return backend.reason;
  const servers = backend.url;
  const id = uniqueName('trace').replace(/[^A-Za-z0-9-]/g, '');
  const stream = id.toUpperCase();
  const consumer = `${id}-svc`;
  const requestPrefix = `${id}.rpc`;
  const nc = await connect({ servers });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [`${id}.ev.>`] });
  await jsm.consumers.add(stream, { durable_name: consumer, ack_policy: AckPolicy.Explicit });
  const cleanup = async () => {
    await jsm.streams.delete(stream).catch(() => undefined);
    await nc.close();
  };
  const subject = (route: string) => `${id}.ev.${route}`;
  return {
    system: 'nats',
    destination: (pattern, request) => (request ? `${requestPrefix}.${pattern}` : subject(pattern)),
    source: (pattern, request) => (request ? `${requestPrefix}.${pattern}` : `${stream}/${consumer}`),
    attempts: true,
    redelivers: true,
    start: async () => ({
      strategy: new JetStreamServer({ servers, stream, consumer, requestPrefix, retryDelaySeconds: 0 }),
      client: () => new JetStreamClient({ servers, requestPrefix, subject }),
    }),
    async foreignEvent(pattern, data, headers) {
      const h = natsHeaders();
      for (const [key, value] of Object.entries({ ...headers, 'nest-pattern': pattern })) h.set(key, value);
      await jetstream(nc).publish(subject(pattern), JSON.stringify({ pattern, data }), { headers: h });
    },
    stop: cleanup,
  };
});
