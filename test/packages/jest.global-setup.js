// The package stage's one-time work: pack every published package (its prepack build included)
// into a temporary folder, and find or start the SQS, Pub/Sub, NATS and Redis backends the fresh apps talk to.
// The spec files read the tarballs' manifest from NEST_TRANSPORTS_TARBALLS; a packing failure is
// reported by every spec (NEST_TRANSPORTS_PACK_ERROR), not as a crash of the run.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveBackend, stopAllBackends } from '../backends/dist/index.js';
import { packAll } from './dist/index.js';

const BACKENDS = [
  { name: 'sqs', env: 'SQS_ENDPOINT' },
  { name: 'pubsub', env: 'PUBSUB_EMULATOR_HOST' },
  { name: 'nats', env: 'NATS_URL' },
  { name: 'redis', env: 'REDIS_URL' },
];

export default async function globalSetup() {
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const dest = mkdtempSync(path.join(os.tmpdir(), 'nest-transports-tarballs-'));
  process.env.NEST_TRANSPORTS_TARBALLS = dest;
  const backends = Promise.all(
    BACKENDS.filter(({ env }) => !process.env[env]).map(async ({ name, env }) => {
      try {
        const backend = await resolveBackend(name);
        if (backend.available) process.env[env] = backend.url;
        else process.env[`NEST_TRANSPORTS_NO_${name.toUpperCase()}`] = backend.reason;
      } catch (err) {
        process.env[`NEST_TRANSPORTS_NO_${name.toUpperCase()}`] = err.message;
      }
    }),
  );
  try {
    const manifest = await packAll(dest);
    console.log(`\n[packages] packed ${manifest.tarballs.length} packages in ${(manifest.totalMs / 1000).toFixed(1)} s into ${dest}`);
  } catch (err) {
    process.env.NEST_TRANSPORTS_PACK_ERROR = err.message;
  }
  await backends;
}

/** Stops what the setup started; keeps the tarballs' manifest (contents, sizes, pack times) in reports/. */
export async function teardown() {
  await stopAllBackends();
  const dir = process.env.NEST_TRANSPORTS_TARBALLS;
  if (!dir) return;
  if (existsSync(path.join(dir, 'manifest.json'))) {
    mkdirSync('reports', { recursive: true });
    copyFileSync(path.join(dir, 'manifest.json'), path.join('reports', 'packages-manifest.json'));
  }
  rmSync(dir, { recursive: true, force: true });
}
