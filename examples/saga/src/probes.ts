import { Controller, Get, type INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HealthCheck, HealthCheckService, type HealthIndicatorResult, TerminusModule } from '@nestjs/terminus';

/** A transport server with the `health()` indicator of `@nest-transports/*` (Nest's built-in servers have none). */
interface WithHealth {
  health(options: { key: string }): Promise<HealthIndicatorResult>;
}

const hasHealth = (server: unknown): server is WithHealth => typeof (server as Partial<WithHealth> | undefined)?.health === 'function';

/** What the readiness probe reports: the service is starting (and why not yet), listening, or stopping. */
export class Readiness {
  private state: { phase: 'starting' | 'stopping'; reason: string } | { phase: 'listening'; server: unknown } = {
    phase: 'starting',
    reason: 'starting',
  };

  constructor(readonly service: string) {}

  starting(reason: string): void {
    this.state = { phase: 'starting', reason };
  }

  listening(server: unknown): void {
    this.state = { phase: 'listening', server };
  }

  stopping(): void {
    this.state = { phase: 'stopping', reason: 'shutting down' };
  }

  /**
   * The service's transport: its `health()` once listening (backend reachable, backlog…), else
   * `down` with the reason (the start-up error, or shutting down).
   */
  async check(): Promise<HealthIndicatorResult> {
    const { service, state } = this;
    if (state.phase !== 'listening') return { [service]: { status: 'down', message: state.reason } };
    if (hasHealth(state.server)) return state.server.health({ key: service });
    return { [service]: { status: 'up', message: 'listening' } }; // a built-in transporter: listening is all it tells
  }
}

/**
 * `/healthz` (liveness: the process answers) and `/readyz` (readiness: `Readiness.check()`), through
 * `@nestjs/terminus` on an HTTP app of their own, apart from the transport.
 */
export async function startProbes(readiness: Readiness, port: number, host: string): Promise<INestApplication> {
  @Controller()
  class ProbesController {
    constructor(private readonly health: HealthCheckService) {}

    @Get('healthz')
    @HealthCheck()
    live() {
      return this.health.check([]);
    }

    @Get('readyz')
    @HealthCheck()
    ready() {
      return this.health.check([() => readiness.check()]);
    }
  }
  @Module({ imports: [TerminusModule.forRoot({ logger: false })], controllers: [ProbesController] })
  class ProbesModule {}
  const app = await NestFactory.create(ProbesModule, { logger: ['error'] });
  await app.listen(port, host);
  return app;
}
