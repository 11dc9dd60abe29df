import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CHILD = fileURLToPath(new URL('./child.js', import.meta.url));

/** A forked benchmark process (see child.ts) answering commands over IPC. */
export class BenchProcess {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private readonly alive: Promise<void>;
  private exited = false;

  private constructor(
    readonly role: 'server' | 'client',
    private readonly child: ChildProcess,
  ) {
    this.alive = new Promise((resolve, reject) => {
      this.waiting.set(0, { resolve: () => resolve(), reject });
    });
    child.on('message', (message: { id: number; result?: unknown; error?: string }) => {
      const waiter = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if (message.error !== undefined) waiter?.reject(new Error(`${role}: ${message.error}`));
      else waiter?.resolve(message.result);
    });
    child.on('exit', (code, signal) => {
      this.exited = true;
      const error = new Error(`the ${role} process exited (${signal ?? code})`);
      for (const waiter of this.waiting.values()) waiter.reject(error);
      this.waiting.clear();
    });
  }

  static async start(role: 'server' | 'client', env: Record<string, string | undefined>): Promise<BenchProcess> {
    // BENCH_CPU_PROF=DIR: profile both processes (node --cpu-prof), one .cpuprofile per process.
    const profileDir = process.env.BENCH_CPU_PROF;
    const execArgv: string[] = [];
    if (profileDir) execArgv.push('--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${role}-${Date.now()}.cpuprofile`);
    const child = fork(CHILD, [role], { env: { ...process.env, ...env }, execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const proc = new BenchProcess(role, child);
    await proc.alive;
    return proc;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Sends a command; rejects after `timeoutMs`. */
  call<T = any>(cmd: string, args: object = {}, timeoutMs = 120_000): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`the ${this.role} process has exited`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.role}: "${cmd}" did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (v) => (clearTimeout(timer), resolve(v)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
      this.child.send({ id, cmd, args });
    });
  }

  /** Asks the process to close its server/client and exit; kills it if it does not within 8 s. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.call('stop', {}, 8000).catch(() => undefined);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 8000);
    await exited;
    clearTimeout(timer);
  }
}
