import { Controller } from '@nestjs/common';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import { WsContext } from '@nest-transports/ws';
import { loadavg } from 'node:os';
import { interval, map, take, type Observable } from 'rxjs';

export interface Sample {
  at: string;
  heapMb: number;
  rssMb: number;
  load1: number;
  connections: number;
}

@Controller()
export class MetricsController {
  private readonly viewers = new Set<string>();

  /** Streams `count` samples, one every `everyMs`: the page renders each as it arrives. */
  @MessagePattern('metrics.watch')
  watch(@Payload() { count = 60, everyMs = 1000 }: { count?: number; everyMs?: number }, @Ctx() ctx: WsContext): Observable<Sample> {
    this.viewers.add(ctx.getConnectionId());
    ctx.getSocket().once('close', () => this.viewers.delete(ctx.getConnectionId()));
    return interval(Math.max(50, everyMs)).pipe(
      take(Math.min(count, 3600)),
      map(() => {
        const memory = process.memoryUsage();
        return {
          at: new Date().toISOString(),
          heapMb: Math.round(memory.heapUsed / 2 ** 20),
          rssMb: Math.round(memory.rss / 2 ** 20),
          load1: Number(loadavg()[0].toFixed(2)),
          connections: this.viewers.size,
        };
      }),
    );
  }
}
