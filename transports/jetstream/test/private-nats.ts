import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from '@nest-transports/backends';

const NATS_SERVER = ['/usr/sbin/nats-server', '/usr/local/bin/nats-server', '/usr/bin/nats-server'].find((p) => existsSync(p));

/**
 * A nats-server of a test's own on free 127.0.0.1 ports, for what the shared one must not suffer:
 * being stopped and restarted (outages, reconnects), running without JetStream, or being watched
 * through its monitoring endpoint. Its JetStream store survives a restart.
 */
export class PrivateNats {
  private child?: ChildProcess;
  private readonly store = mkdtempSync(join(tmpdir(), 'nats-js-'));

  private constructor(
    readonly port: number,
    readonly monitorPort: number,
    private readonly jetstream: boolean,
  ) {}

  /** Why no private server can run here, or undefined. */
  static unavailable(): string | undefined {
    return NATS_SERVER ? undefined : 'nats-server is not installed (looked in /usr/sbin, /usr/local/bin, /usr/bin)';
  }

  static async start({ jetstream = true } = {}): Promise<PrivateNats> {
    const server = new PrivateNats(await freePort(), await freePort(), jetstream);
    await server.restart();
    return server;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async restart(): Promise<void> {
    const args = ['-a', '127.0.0.1', '-p', String(this.port), '-m', String(this.monitorPort), ...(this.jetstream ? ['-js', '-sd', this.store] : [])];
    const child = spawn(NATS_SERVER!, args, { stdio: 'ignore' });
    this.child = child;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (!(await waitForPort('127.0.0.1', this.port, 10_000, exited))) throw new Error(`nats-server did not start on ${this.port}`);
  }

  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  /** Subscriptions of the connections named `name` (the NATS connection option), from the monitoring endpoint. */
  async subscriptions(name: string): Promise<string[]> {
    const response = await fetch(`http://127.0.0.1:${this.monitorPort}/connz?subs=1`);
    const { connections } = (await response.json()) as { connections: Array<{ name?: string; subscriptions_list?: string[] }> };
    return connections.filter((c) => c.name === name).flatMap((c) => c.subscriptions_list ?? []);
  }

  /** Open connections named `name`, once the server has seen the closed ones go (it notices a closed socket a moment later), or after `ms`. */
  async connections(name: string, ms = 3000): Promise<number> {
    const deadline = Date.now() + ms;
    for (;;) {
      const response = await fetch(`http://127.0.0.1:${this.monitorPort}/connz`);
      const { connections } = (await response.json()) as { connections: Array<{ name?: string }> };
      const open = connections.filter((c) => c.name === name).length;
      if (open === 0 || Date.now() > deadline) return open;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.store, { recursive: true, force: true });
  }
}
