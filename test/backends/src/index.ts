import { existsSync } from 'node:fs';
import { canStartElasticMq, resolveElasticMq } from './elasticmq.js';
import { canStartKafka, resolveKafka } from './kafka.js';
import { javaCommand, which } from './process.js';
import { findPubSubEmulator, resolvePubSub } from './pubsub.js';
import { isLocalService, resolveLocalService } from './services.js';
import { resolveSqs } from './sqs.js';
import type { BackendName, BackendResolution, ResolvedBackend } from './types.js';

export type { AvailableBackend, BackendName, BackendResolution, ResolvedBackend, UnavailableBackend } from './types.js';
export { isPortOpen, waitForPort, freePort, LOCAL_SERVICES, resolveLocalService } from './services.js';
export { createKafkaTopics, fetchKafkaJars, kafkaJarsDir, kafkaVersion, startKafkaBroker, resolveKafka } from './kafka.js';
export type { KafkaBroker, KafkaJars } from './kafka.js';
export { startFauxqs, resolveSqs, sqsClientConfig } from './sqs.js';
export { canStartElasticMq, elasticMqRegion, elasticMqVersion, fetchElasticMqJars, resolveElasticMq, startElasticMq } from './elasticmq.js';
export type { ElasticMqServer } from './elasticmq.js';
export type { MavenJars } from './maven.js';
export type { FauxqsInstance } from './sqs.js';
export { findPubSubEmulator, startPubSubEmulator, resolvePubSub } from './pubsub.js';
export type { PubSubEmulator } from './pubsub.js';
export { Seen } from './seen.js';
export { scaled, testTimeScale, within } from './time-scale.js';

export const BACKEND_NAMES: readonly BackendName[] = ['redis', 'nats', 'mqtt', 'amqp', 'kafka', 'sqs', 'elasticmq', 'pubsub'];

function installed(command: string, ...paths: string[]): boolean {
  return Boolean(which(command)) || paths.some((file) => existsSync(file));
}

/** Why this machine should offer `name` (so CI must not skip it), or undefined when it need not. */
export function offeredHere(name: BackendName): string | undefined {
  switch (name) {
    case 'redis':
      return installed('redis-server', '/usr/bin/redis-server') ? 'redis-server is installed' : undefined;
    case 'nats':
      return installed('nats-server', '/usr/sbin/nats-server', '/usr/bin/nats-server') ? 'nats-server is installed' : undefined;
    case 'mqtt':
      return installed('mosquitto', '/usr/sbin/mosquitto') ? 'mosquitto is installed' : undefined;
    case 'amqp':
      return installed('rabbitmq-server', '/usr/sbin/rabbitmq-server', '/usr/lib/rabbitmq/bin/rabbitmq-server') ? 'rabbitmq-server is installed' : undefined;
    case 'kafka':
      return canStartKafka() ? 'java and mvn are installed' : undefined;
    case 'sqs':
      return 'fauxqs is a dependency of @nest-transports/backends';
    case 'elasticmq':
      return canStartElasticMq() ? 'java and mvn are installed' : undefined;
    case 'pubsub':
      return findPubSubEmulator() && javaCommand() ? 'the Pub/Sub emulator and java are installed' : undefined;
  }
}

/**
 * Under CI=true, throws when `resolution` is unavailable although this machine offers the backend;
 * otherwise returns it unchanged.
 */
export function requireUnderCi<T extends BackendResolution>(resolution: T): T {
  if (process.env.CI !== 'true' || resolution.available) return resolution;
  const offered = offeredHere(resolution.name);
  if (!offered) return resolution;
  throw new Error(`CI=true: ${resolution.name} must not be skipped on this machine (${offered}), but it is unavailable: ${resolution.reason}`);
}

function resolveFresh(name: BackendName): Promise<ResolvedBackend> {
  if (isLocalService(name)) return resolveLocalService(name);
  if (name === 'kafka') return resolveKafka();
  if (name === 'sqs') return resolveSqs();
  if (name === 'elasticmq') return resolveElasticMq();
  return resolvePubSub();
}

// One resolution (and so one started broker or emulator) per backend per process.
const resolutions = new Map<BackendName, Promise<ResolvedBackend>>();

/**
 * Finds or starts a backend: the address in the environment, the local service, an emulator or
 * broker started here (shared by every caller in this process until stopAllBackends()), else
 * unavailable with the reason. Under CI=true it rejects instead where the machine offers the backend.
 */
export function resolveBackend(name: BackendName): Promise<ResolvedBackend> {
  let resolution = resolutions.get(name);
  if (!resolution) {
    resolution = resolveFresh(name);
    resolutions.set(name, resolution);
  }
  return resolution.then(requireUnderCi);
}

/** Resolves several backends at once. */
export async function resolveBackends(names: readonly BackendName[] = BACKEND_NAMES): Promise<Map<BackendName, ResolvedBackend>> {
  const resolved = await Promise.all(names.map(resolveBackend));
  return new Map(names.map((name, i) => [name, resolved[i]]));
}

/** Stops every broker and emulator this process started; the next resolveBackend() starts afresh. */
export async function stopAllBackends(): Promise<void> {
  const pending = [...resolutions.values()];
  resolutions.clear();
  const settled = await Promise.allSettled(pending);
  await Promise.allSettled(settled.map((result) => (result.status === 'fulfilled' ? result.value.stop?.() : undefined)));
}
