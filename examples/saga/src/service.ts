import 'reflect-metadata';
import { describeError } from '@nest-transports/shared';
import { wireFromEnv } from './env-wiring.js';
import { SERVICES, type ServiceName } from './peers.js';
import { Readiness, startProbes } from './probes.js';
import { type RunningService, startService, stopService } from './services.js';
import { startTracing } from './tracing.js';

/**
 * One saga service per process, configured from the environment (see env-wiring.ts), with the
 * orchestrator's probes on HEALTH_PORT: /healthz (alive) and /readyz (the transport's `health()`).
 * A backend that cannot be reached at start is retried, the readiness probe saying why meanwhile.
 */
const name = process.env.SERVICE as ServiceName;
if (!SERVICES.includes(name)) {
  console.error(`Set SERVICE to one of ${SERVICES.join(', ')}.`);
  process.exit(2);
}

startTracing(); // every line a service logs for a message carries the message's trace id
const readiness = new Readiness(name);
const probes = await startProbes(readiness, Number(process.env.HEALTH_PORT ?? 8081), process.env.HEALTH_HOST ?? '0.0.0.0');

let service: RunningService | undefined;
let stopping = false;
let wake: (() => void) | undefined;

const shutdown = async () => {
  stopping = true;
  readiness.stopping();
  wake?.();
  if (service) await stopService(service); // graceful: in-flight handlers finish first
  await probes.close();
  process.exit(0);
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);

for (let attempt = 1; !stopping; attempt++) {
  try {
    const started = await startService(name, wireFromEnv());
    if (stopping) {
      await stopService(started);
      break;
    }
    service = started;
    readiness.listening((service.app as unknown as { serverInstance?: unknown }).serverInstance);
    console.log(`${name} listening (${process.env.TRANSPORT ?? 'ws'})`);
    break;
  } catch (err) {
    const delay = Math.min(1000 * 2 ** (attempt - 1), 10_000);
    const reason = describeError(err).message;
    readiness.starting(reason);
    console.error(`${name} could not start (attempt ${attempt}, next in ${delay / 1000} s): ${reason}`);
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, delay);
    });
  }
}
