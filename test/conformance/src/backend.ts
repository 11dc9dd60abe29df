import {
  createKafkaTopics,
  elasticMqRegion,
  offeredHere,
  resolveBackend as resolve,
  sqsClientConfig,
  stopAllBackends,
  type BackendName,
} from '@nest-transports/backends';
import type { Availability } from './descriptor.js';

export type { BackendName };
export { createKafkaTopics, elasticMqRegion, offeredHere, sqsClientConfig, stopAllBackends };

/** Finds (or starts) a backend through @nest-transports/backends; under CI=true it rejects where the machine offers it. */
export async function resolveBackend(name: BackendName): Promise<Availability> {
  const found = await resolve(name);
  return found.available ? { available: true, url: found.url, description: found.description } : { available: false, reason: found.reason };
}
