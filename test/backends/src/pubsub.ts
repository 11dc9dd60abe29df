import { existsSync, mkdtempSync, realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { javaCommand, startManaged, tailFile, which } from './process.js';
import { freePort } from './services.js';
import type { ResolvedBackend } from './types.js';

const LAUNCHER = path.join('platform', 'pubsub-emulator', 'bin', 'cloud-pubsub-emulator');

/** The official emulator's launcher (Debian package google-cloud-cli-pubsub-emulator, or a gcloud SDK), if installed. */
export function findPubSubEmulator(): string | undefined {
  const onPath = which('cloud-pubsub-emulator');
  if (onPath) return onPath;
  const roots = [process.env.CLOUDSDK_ROOT_DIR, '/usr/lib/google-cloud-sdk', '/usr/share/google-cloud-sdk', '/opt/google-cloud-sdk'];
  const gcloud = which('gcloud');
  if (gcloud) roots.push(path.resolve(path.dirname(realpathSync(gcloud)), '..'));
  return roots.map((root) => root && path.join(root, LAUNCHER)).find((file): file is string => !!file && existsSync(file));
}

export interface PubSubEmulator {
  /** `127.0.0.1:PORT`, the value for PUBSUB_EMULATOR_HOST. */
  host: string;
  startMs: number;
  stop(): Promise<void>;
}

async function answers(host: string): Promise<boolean> {
  try {
    const res = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(1000) });
    await res.text();
    return res.ok;
  } catch {
    return false;
  }
}

/** Starts the official emulator on a free 127.0.0.1 port and waits (bounded) until it answers. */
export async function startPubSubEmulator(options: { timeoutMs?: number } = {}): Promise<PubSubEmulator> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const launcher = findPubSubEmulator();
  if (!launcher) throw new Error('the Pub/Sub emulator is not installed');
  if (!javaCommand()) throw new Error('the Pub/Sub emulator needs java, and there is no java on PATH');
  const started = Date.now();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'nest-transports-pubsub-'));
  const logFile = path.join(dir, 'emulator.log');
  const host = `127.0.0.1:${await freePort()}`;
  const [, port] = host.split(':');
  const proc = startManaged(launcher, ['--host=127.0.0.1', `--port=${port}`], {
    logFile,
    ownedDir: dir,
    env: { ...process.env, JAVA_OPTS: '-Xmx512m -XX:+UseSerialGC' },
  });
  const deadline = Date.now() + timeoutMs;
  while (!proc.hasExited && Date.now() < deadline && !(await answers(host))) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (proc.hasExited || Date.now() >= deadline) {
    const why = proc.hasExited ? `it ended (${await proc.exited})` : `no answer on ${host} within ${timeoutMs} ms`;
    const log = tailFile(logFile);
    await proc.stop(2000);
    throw new Error(`the Pub/Sub emulator (${launcher}) did not come up: ${why}\n--- emulator log ---\n${log}`);
  }
  return { host, startMs: Date.now() - started, stop: () => proc.stop() };
}

/** PUBSUB_EMULATOR_HOST, else the official emulator started on a free port. */
export async function resolvePubSub(): Promise<ResolvedBackend> {
  const fromEnv = process.env.PUBSUB_EMULATOR_HOST;
  if (fromEnv) {
    return {
      available: true,
      name: 'pubsub',
      url: fromEnv,
      via: 'env',
      description: `Pub/Sub emulator at PUBSUB_EMULATOR_HOST=${fromEnv}`,
      env: { PUBSUB_EMULATOR_HOST: fromEnv },
    };
  }
  if (!findPubSubEmulator()) {
    return {
      available: false,
      name: 'pubsub',
      reason: 'PUBSUB_EMULATOR_HOST is not set and the Pub/Sub emulator is not installed (no cloud-pubsub-emulator on PATH or in a Google Cloud SDK)',
    };
  }
  if (!javaCommand()) {
    return { available: false, name: 'pubsub', reason: 'PUBSUB_EMULATOR_HOST is not set and there is no java on PATH to run the Pub/Sub emulator' };
  }
  try {
    const emulator = await startPubSubEmulator();
    return {
      available: true,
      name: 'pubsub',
      url: emulator.host,
      via: 'emulator',
      description: `Pub/Sub emulator on ${emulator.host}, started in ${emulator.startMs} ms`,
      env: { PUBSUB_EMULATOR_HOST: emulator.host },
      stop: emulator.stop,
    };
  } catch (err) {
    return { available: false, name: 'pubsub', reason: `PUBSUB_EMULATOR_HOST is not set and ${err.message}` };
  }
}
