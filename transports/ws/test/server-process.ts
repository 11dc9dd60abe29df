import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { deferred } from '@nest-transports/shared';
import { within } from '@nest-transports/backends';
import type { WsServerOptions } from '../src/index.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/server.mjs', import.meta.url));

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  url: string;
  /** Resolves with the exit code or signal when the process ends. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** What the process wrote on stderr so far (the crash report, if any). */
  stderr(): string;
  alive(): boolean;
  /** `process.memoryUsage()` of the server after a full GC. */
  memory(): Promise<NodeJS.MemoryUsage>;
  stop(): Promise<void>;
}

/**
 * Starts the fixture app (`fixtures/server.mjs`, on the package's dist) in its own process:
 * the questions of crashes and memory are asked from outside, as a user's process would be.
 */
export async function startServerProcess(
  config: { mode?: 'micro' | 'hybrid'; options?: Omit<WsServerOptions, 'server' | 'authenticate' | 'serializer' | 'deserializer'> } = {},
): Promise<ServerProcess> {
  const child = fork(FIXTURE, [JSON.stringify(config)], { execArgv: ['--expose-gc'], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = deferred<{ code: number | null; signal: NodeJS.Signals | null }>();
  child.once('exit', (code, signal) => exit.resolve({ code, signal }));
  const ready = new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('{"port"'));
      if (line) resolve((JSON.parse(line) as { port: number }).port);
    });
    void exit.promise.then(() => reject(new Error(`the server process exited before listening: ${stderr}`)));
  });
  let port: number;
  try {
    port = await within(ready, 20_000, 'the server process to listen');
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const path = config.mode === 'hybrid' ? '/rpc' : '';
  return {
    child,
    port,
    url: `ws://127.0.0.1:${port}${path}`,
    exited: exit.promise,
    stderr: () => stderr,
    alive: () => child.exitCode === null && child.signalCode === null,
    memory: () =>
      within(
        new Promise<NodeJS.MemoryUsage>((resolve) => {
          child.once('message', (m) => resolve((m as { memory: NodeJS.MemoryUsage }).memory));
          child.send('memory');
        }),
        10_000,
        'the server process to report its memory',
      ),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await within(exit.promise, 5000, 'the server process to exit');
    },
  };
}
