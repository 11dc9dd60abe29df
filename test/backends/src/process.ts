import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

/** The executable `command` on PATH, or undefined. */
export function which(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, command);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** $JAVA_HOME/bin/java, else java on PATH, or undefined. */
export function javaCommand(): string | undefined {
  const fromHome = process.env.JAVA_HOME && path.join(process.env.JAVA_HOME, 'bin', 'java');
  return fromHome && existsSync(fromHome) ? fromHome : which('java');
}

/** The last `lines` lines of a log file (at most its last 64 KiB). */
export function tailFile(file: string, lines = 60): string {
  try {
    const text = readFileSync(file, 'utf8');
    return text.slice(-65536).split('\n').slice(-lines).join('\n');
  } catch (err) {
    return `(no log: ${err.message})`;
  }
}

// Synchronous cleanups run when this process exits or is interrupted: the one moment async
// work (awaiting a graceful stop) is no longer possible.
const cleanups = new Set<() => void>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

function runCleanups(): void {
  for (const cleanup of [...cleanups]) {
    try {
      cleanup();
    } catch {
      // best effort while exiting
    }
  }
  cleanups.clear();
  uninstall();
}

function onSignal(signal: NodeJS.Signals): void {
  runCleanups();
  // Our listener disabled Node's default "exit on signal": restore it unless someone else handles it.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  process.on('exit', runCleanups);
  for (const signal of SIGNALS) process.on(signal, onSignal);
}

function uninstall(): void {
  process.off('exit', runCleanups);
  for (const signal of SIGNALS) process.off(signal, onSignal);
}

/** Runs `cleanup` (synchronously) on process exit, SIGINT or SIGTERM. Returns a function that cancels it. */
export function onProcessExit(cleanup: () => void): () => void {
  if (cleanups.size === 0) install();
  cleanups.add(cleanup);
  return () => {
    cleanups.delete(cleanup);
    if (cleanups.size === 0) uninstall();
  };
}

export interface ManagedProcess {
  readonly pid: number;
  readonly logFile: string;
  /** Settles with a description of how the process ended ("exit code 1", "signal SIGTERM", a spawn error). */
  readonly exited: Promise<string>;
  readonly hasExited: boolean;
  /** SIGTERM to the whole process group, SIGKILL after `graceMs`; then removes `ownedDir`. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  /** stdout and stderr go here. */
  logFile: string;
  /** A temp folder that belongs to this process: removed after it stops and on exit. */
  ownedDir?: string;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Starts a long-running helper (a broker, an emulator) in its own process group, so that stopping
 * it also stops whatever it forked. Where `setpriv` exists the kernel also kills it if this Node
 * process dies without running its exit handlers (SIGKILL, a crash).
 */
export function startManaged(command: string, args: string[], options: StartOptions): ManagedProcess {
  const setpriv = which('setpriv');
  const [file, argv] = setpriv ? [setpriv, ['--pdeathsig', 'SIGKILL', command, ...args]] : [command, args];
  const fd = openSync(options.logFile, 'a');
  const child = spawn(file, argv, { detached: true, stdio: ['ignore', fd, fd], env: options.env ?? process.env });
  closeSync(fd);
  child.unref();

  let hasExited = false;
  const exited = new Promise<string>((resolve) => {
    child.once('error', (err) => resolve(`could not start ${command}: ${err.message}`));
    child.once('exit', (code, signal) => resolve(signal ? `signal ${signal}` : `exit code ${code}`));
  }).finally(() => {
    hasExited = true;
  });

  const removeDir = () => {
    if (options.ownedDir) rmSync(options.ownedDir, { recursive: true, force: true });
  };
  const cancelCleanup = onProcessExit(() => {
    if (child.pid && !hasExited) killGroup(child.pid, 'SIGKILL');
    removeDir();
  });

  return {
    pid: child.pid ?? -1,
    logFile: options.logFile,
    exited,
    get hasExited() {
      return hasExited;
    },
    async stop(graceMs = 10_000) {
      if (child.pid && !hasExited) {
        killGroup(child.pid, 'SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), graceMs);
        });
        if (await Promise.race([exited.then(() => false), timedOut])) killGroup(child.pid, 'SIGKILL');
        clearTimeout(timer);
        await exited;
      }
      cancelCleanup();
      removeDir();
    },
  };
}
