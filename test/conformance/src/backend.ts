import { resolveBackend as resolve, type BackendName } from '@nest-transports/backends';
import type { Availability } from './descriptor.js';

// Everything @nest-transports/backends offers (freePort, isPortOpen, waitForPort, startFauxqs,
// startPubSubEmulator, startKafkaBroker, createKafkaTopics, stopAllBackends…), for descriptors.
export * from '@nest-transports/backends';

/**
 * Finds (or starts) a backend — its address in the environment, the local service, an emulator or
 * broker started here — as a descriptor's `resolve()` answers; under CI=true it rejects where the
 * machine offers the backend.
 */
export async function resolveBackend(name: BackendName): Promise<Availability> {
  const found = await resolve(name);
  return found.available ? { available: true, url: found.url, description: found.description } : { available: false, reason: found.reason };
}
