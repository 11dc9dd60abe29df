import { type ChildProcess, spawn } from 'node:child_process';
import { findPubSubEmulator, freePort, waitForPort } from '@nest-transports/backends';

/** An emulator on a fixed port that a test can stop and start again (state is lost, as on a real restart). */
export class RestartableEmulator {
  private proc?: ChildProcess;
  private constructor(readonly port: number) {}

  static async start(): Promise<RestartableEmulator> {
    const emulator = new RestartableEmulator(await freePort());
    await emulator.up();
    return emulator;
  }

  get url(): string {
    return `127.0.0.1:${this.port}`;
  }

  async up(): Promise<void> {
    const launcher = findPubSubEmulator();
    if (!launcher) throw new Error('the Pub/Sub emulator is not installed');
    this.proc = spawn(launcher, ['--host=127.0.0.1', `--port=${this.port}`], {
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, JAVA_OPTS: '-Xmx256m -XX:+UseSerialGC' },
    });
    const exited = new Promise((resolve) => this.proc!.once('exit', resolve));
    if (!(await waitForPort('127.0.0.1', this.port, 30_000, exited))) throw new Error(`the emulator did not open port ${this.port}`);
  }

  async down(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc?.pid || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    process.kill(-proc.pid, 'SIGTERM'); // the launcher script and its JVM: the group we started
    await exited;
  }
}
