import 'reflect-metadata';
import { createServer } from 'node:http';
import { wireFromEnv } from './env-wiring.js';
import { SERVICES, type ServiceName } from './peers.js';
import { startService, stopService } from './services.js';
import { startTracing } from './tracing.js';

/**
 * One saga service per process, configured from the environment (see env-wiring.ts), with
 * HTTP health endpoints for the orchestrator: /healthz (alive) and /readyz (transport listening).
 */
const name = process.env.SERVICE as ServiceName;
if (!SERVICES.includes(name)) {
  console.error(`Set SERVICE to one of ${SERVICES.join(', ')}.`);
  process.exit(2);
}

startTracing(); // every line a service logs for a message carries the message's trace id
let ready = false;
const health = createServer((req, res) => {
  const ok = req.url === '/healthz' || (req.url === '/readyz' && ready);
  res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'not ready\n');
});
health.listen(Number(process.env.HEALTH_PORT ?? 8081), process.env.HEALTH_HOST ?? '0.0.0.0');

const service = await startService(name, wireFromEnv());
ready = true;
console.log(`${name} listening (${process.env.TRANSPORT ?? 'ws'})`);

const shutdown = async () => {
  ready = false;
  await stopService(service); // graceful: in-flight handlers finish first
  health.close();
  process.exit(0);
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
