import type { TargetSpec } from './types.js';

/**
 * Every row the harness knows, in the order it runs them. Modules load lazily, in the child
 * processes only, so that a process holds only its own target's libraries (fair RSS).
 */
export const TARGETS: TargetSpec[] = [
  { name: 'raw-ws', family: 'ws', kind: 'baseline', load: async () => (await import('./targets/raw-ws.js')).rawWsTarget(false) },
  {
    name: 'raw-ws-batched',
    family: 'ws',
    kind: 'baseline',
    note: 'raw-ws with TCP writes batched per event-loop turn, as ws does',
    load: async () => (await import('./targets/raw-ws.js')).rawWsTarget(true),
  },
  { name: 'nest-tcp', family: 'ws', kind: 'baseline', load: async () => (await import('./targets/nest-tcp.js')).target },
  { name: 'ws', family: 'ws', kind: 'transport', baseline: 'nest-tcp', load: async () => (await import('./targets/ws.js')).wsTarget('json') },
  { name: 'ws-msgpack', family: 'ws', kind: 'transport', baseline: 'nest-tcp', load: async () => (await import('./targets/ws.js')).wsTarget('msgpack') },
  {
    name: 'ws-no-otel',
    family: 'otel',
    kind: 'baseline',
    note: 'ws without @opentelemetry/api (not resolvable in its processes)',
    load: async () => (await import('./targets/ws-otel.js')).otelWsTarget('none'),
  },
  {
    name: 'ws+otel-api',
    family: 'otel',
    kind: 'transport',
    baseline: 'ws-no-otel',
    note: 'ws with @opentelemetry/api loaded, no SDK registered',
    load: async () => (await import('./targets/ws-otel.js')).otelWsTarget('api'),
  },
  {
    name: 'ws+otel-sdk',
    family: 'otel',
    kind: 'transport',
    baseline: 'ws-no-otel',
    note: 'ws with the OpenTelemetry SDK in both processes: every message sampled, spans batched to a no-op exporter',
    load: async () => (await import('./targets/ws-otel.js')).otelWsTarget('sdk'),
  },
  { name: 'redis', kind: 'transport', backend: 'redis', baseline: 'nest-tcp', load: async () => (await import('./targets/builtins.js')).redis },
  { name: 'nats', kind: 'transport', backend: 'nats', baseline: 'nest-tcp', load: async () => (await import('./targets/builtins.js')).nats },
  { name: 'mqtt', kind: 'transport', backend: 'mqtt', baseline: 'nest-tcp', load: async () => (await import('./targets/builtins.js')).mqtt },
  { name: 'rmq', kind: 'transport', backend: 'amqp', baseline: 'nest-tcp', load: async () => (await import('./targets/builtins.js')).rmq },
  { name: 'kafka', kind: 'transport', backend: 'kafka', baseline: 'nest-tcp', scale: 0.25, load: async () => (await import('./targets/builtins.js')).kafka },
  { name: 'raw-sqs', family: 'sqs', kind: 'baseline', backend: 'sqs', scale: 0.5, load: async () => (await import('./targets/raw-sqs.js')).rawSqsTarget(true) },
  {
    name: 'raw-sqs-unbatched',
    family: 'sqs',
    kind: 'baseline',
    backend: 'sqs',
    scale: 0.25,
    workloads: ['events'],
    note: 'one SendMessage per event (yardstick of auto-batching)',
    load: async () => (await import('./targets/raw-sqs.js')).rawSqsTarget(false),
  },
  {
    name: 'sqs',
    family: 'sqs',
    kind: 'transport',
    backend: 'sqs',
    baseline: 'raw-sqs',
    scale: 0.5,
    load: async () => (await import('./targets/sqs.js')).target,
  },
  {
    name: 'raw-pubsub',
    family: 'pubsub',
    kind: 'baseline',
    backend: 'pubsub',
    scale: 0.25,
    roundMs: 1500,
    load: async () => (await import('./targets/raw-pubsub.js')).target,
  },
  {
    name: 'pubsub',
    family: 'pubsub',
    kind: 'transport',
    backend: 'pubsub',
    baseline: 'raw-pubsub',
    scale: 0.25,
    roundMs: 1500,
    load: async () => (await import('./targets/pubsub.js')).target,
  },
  {
    name: 'algoan-pubsub',
    family: 'pubsub',
    kind: 'peer',
    backend: 'pubsub',
    baseline: 'raw-pubsub',
    scale: 0.25,
    workloads: ['events'],
    note: '@algoan/nestjs-google-pubsub-microservice 3.0.3: events only, acks before the handler runs',
    load: async () => (await import('./targets/algoan-pubsub.js')).target,
  },
  {
    name: 'ssut-sqs',
    kind: 'peer',
    backend: 'sqs',
    unavailable: async () =>
      '@ssut/nestjs-sqs 3.0.1 declares @nestjs/common and @nestjs/core ^6…^11 as peers: npm would nest Nest 11 under test/bench and shadow Nest 12 for every row, so it is not installed (ENVIRONMENT.md measured it at 350 msg/s with its defaults, 2.6k/s with batchSize 10)',
    load: async () => {
      throw new Error('not installed');
    },
  },
  {
    name: 'nestjs-google-pubsub-microservice',
    kind: 'peer',
    backend: 'pubsub',
    unavailable: async () =>
      'nestjs-google-pubsub-microservice 10.1.0 declares Nest ^10 and @google-cloud/pubsub ^4 as peers: installing it would nest Nest 10 under test/bench and shadow Nest 12 for every row, so it is not installed',
    load: async () => {
      throw new Error('not installed');
    },
  },
  { name: 'raw-jetstream', family: 'jetstream', kind: 'baseline', backend: 'nats', load: async () => (await import('./targets/raw-jetstream.js')).target },
  {
    name: 'jetstream',
    family: 'jetstream',
    kind: 'transport',
    backend: 'nats',
    baseline: 'raw-jetstream',
    load: async () => (await import('./targets/jetstream.js')).target,
  },
  {
    name: 'nestjs-plugins-jetstream',
    family: 'jetstream',
    kind: 'peer',
    backend: 'nats',
    baseline: 'raw-jetstream',
    note: '@nestjs-plugins/nestjs-nats-jetstream-transport 2.2.6 (nats v2 client): acks each event before the handler runs',
    load: async () => (await import('./targets/nestjs-plugins-jetstream.js')).target,
  },
  {
    name: 'raw-redis-streams',
    family: 'redis-streams',
    kind: 'baseline',
    backend: 'redis',
    load: async () => (await import('./targets/raw-redis-streams.js')).target,
  },
  {
    name: 'redis-streams',
    family: 'redis-streams',
    kind: 'transport',
    backend: 'redis',
    baseline: 'raw-redis-streams',
    load: async () => (await import('./targets/redis-streams.js')).target,
  },
];

export function findTarget(name: string): TargetSpec {
  const spec = TARGETS.find((t) => t.name === name);
  if (!spec) throw new Error(`unknown bench target "${name}" (known: ${TARGETS.map((t) => t.name).join(', ')})`);
  return spec;
}
