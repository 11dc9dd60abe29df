import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ClientNats, NatsContext, NatsRecordBuilder, Transport } from '@nestjs/microservices';
import { resolveBackend } from '../backend.js';
import { defineTransport, type RunEnv } from '../descriptor.js';
import { nestMajor, nestMicroservicesDir } from '../environment.js';

/** NATS headers from the library Nest itself loads: `@nats-io/transport-node` on Nest 12, `nats` on Nest 11. */
function natsHeaders(): { set(key: string, value: string): void } {
  const library = (nestMajor() ?? 12) >= 12 ? '@nats-io/transport-node' : 'nats';
  const load = createRequire(join(nestMicroservicesDir() ?? process.cwd(), 'package.json'));
  return load(library).headers();
}

const servers = (env: RunEnv) => [env.url ?? 'nats://127.0.0.1:4222'];

export const nats = defineTransport({
  name: 'nats',
  kind: 'builtin',
  backend: 'NATS core (queue group per run)',
  capabilities: ['requestResponse', 'events', 'streaming', 'objectPatterns', 'metadata', 'orderedEvents', 'reconnect', 'competingConsumers'],
  differences: {
    'life.status': 'close() emits no status: client and server stay at connected',
    'ev.competing-consumers': 'with the `queue` option (used here) servers share messages; without it every server gets every event (pub/sub)',
    'life.client-first':
      'core NATS keeps nothing: a request sent before the server subscribes fails at once with "no subscribers listening" (an event is dropped)',
    'rr.no-handler': 'an unknown pattern fails with NATS\'s own "no subscribers listening" error, not Nest\'s "no matching message handler"',
    'ev.order':
      'events emitted while the client is still connecting can be reordered (the first one may arrive last); ordered once connected, which is what ev.order checks (it awaits connect() first, for every transport)',
    'ctx.metadata': 'metadata travels as NATS headers (NatsRecordBuilder.setHeaders, NatsContext.getHeaders()), not as Nest packet metadata',
  },
  resolve: () => resolveBackend('nats'),
  server: (env, codecs) => ({ transport: Transport.NATS, options: { servers: servers(env), queue: `${env.ns}-workers`, ...codecs } }),
  client: (env, codecs) => new ClientNats({ servers: servers(env), ...codecs }),
  unreachableClient: (env) => new ClientNats({ servers: [`nats://127.0.0.1:${env.sparePort}`], reconnect: false }),
  clientFirst: 'errors',
  statusAfterClose: { client: null, server: null },
  noHandler: { behaviour: 'error', message: /no subscribers listening/ },
  payload: { large: 512 * 1024 },
  checkContext(ctx, pattern) {
    assert.ok(ctx instanceof NatsContext, 'NatsContext');
    assert.equal(ctx.getSubject(), pattern);
  },
  metadata: {
    send(_client, data, headers) {
      const h = natsHeaders();
      for (const [k, v] of Object.entries(headers)) h.set(k, v);
      return new NatsRecordBuilder(data).setHeaders(h).build();
    },
    read(ctx) {
      const h = (ctx as NatsContext).getHeaders();
      return h ? Object.fromEntries(h.keys().map((k: string) => [k, h.get(k)])) : undefined;
    },
  },
});
