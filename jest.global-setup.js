// Starts the heavy backends once for the whole jest run (not once per test file) and hands
// their addresses to the workers through the environment, where resolveBackend() looks first.
// Only the backends that the selected test files can need are started.
import { resolveBackend, stopAllBackends } from './test/backends/dist/index.js';

const SHARED = [
  { name: 'sqs', env: 'SQS_ENDPOINT', users: ['transports/sqs', 'test/conformance', 'examples', 'test/bench'] },
  { name: 'elasticmq', env: 'ELASTICMQ_ENDPOINT', users: ['transports/sqs', 'test/conformance'] },
  { name: 'pubsub', env: 'PUBSUB_EMULATOR_HOST', users: ['transports/pubsub', 'test/conformance', 'examples', 'test/bench'] },
  { name: 'kafka', env: 'KAFKA_BROKERS', users: ['test/conformance'] },
];

export default async function globalSetup(globalConfig) {
  const patterns = globalConfig.testPathPatterns?.patterns ?? [];
  const selected = (users) => patterns.length === 0 || patterns.some((p) => users.some((u) => u.includes(p) || p.includes(u)));
  await Promise.all(
    SHARED.filter(({ env, users }) => !process.env[env] && selected(users)).map(async ({ name, env }) => {
      try {
        const backend = await resolveBackend(name);
        if (backend.available) process.env[env] = backend.url;
      } catch (err) {
        // The tests that need it report the reason (and fail under CI=true).
        console.warn(`[jest] ${name}: ${err.message}`);
      }
    }),
  );
}

export async function teardown() {
  await stopAllBackends();
}
