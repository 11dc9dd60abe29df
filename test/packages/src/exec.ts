import { spawn } from 'node:child_process';

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

export interface ExecOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** The command is killed (with its process group) after this long; the result says `timedOut`. */
  timeoutMs: number;
}

/** npm sets these for the scripts it runs; a nested npm or node in a fresh app must not inherit them. */
const INHERITED_NPM = /^npm_(?!config_(cache|registry|userconfig|globalconfig)$)/i;

/** The environment a user's shell would give a command: ours, minus npm's and jest's per-script variables. */
export function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (INHERITED_NPM.test(key) || key === 'NODE_OPTIONS' || key.startsWith('JEST_')) continue;
    env[key] = value;
  }
  return { ...env, ...extra };
}

/** Runs a command to its end (or its time limit) and collects its output. Never rejects on a non-zero exit. */
export function exec(command: string, args: readonly string[], options: ExecOptions): Promise<ExecResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? userEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, options.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started, timedOut });
    });
  });
}

/** Like exec(), but rejects with the command's output when it fails or times out. */
export async function execOk(command: string, args: readonly string[], options: ExecOptions): Promise<ExecResult> {
  const result = await exec(command, args, options);
  if (result.code !== 0 || result.timedOut) {
    const why = result.timedOut ? `did not finish within ${options.timeoutMs} ms` : `exited with ${result.code ?? result.signal}`;
    throw new Error(`${command} ${args.join(' ')} (in ${options.cwd}) ${why}\n${tail(result.stdout)}\n${tail(result.stderr)}`);
  }
  return result;
}

/** The last lines of a command's output, for error messages. */
export function tail(text: string, lines = 40): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
