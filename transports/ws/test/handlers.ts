import { Controller, UsePipes, ValidationPipe } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { IsInt, Min } from 'class-validator';
import { from, interval, Observable, EMPTY } from 'rxjs';
import { map, take } from 'rxjs/operators';
import { WsContext } from '../src/index.js';

export class OrderDto {
  @IsInt()
  @Min(1)
  quantity!: number;
}

export const seen: {
  events: unknown[];
  second: unknown[];
  contexts: WsContext[];
  counted: number;
  slowStarted: number;
  slowEvents: { started: number; finished: number };
} = {
  events: [],
  second: [],
  contexts: [],
  counted: 0,
  slowStarted: 0,
  slowEvents: { started: 0, finished: 0 },
};

@Controller()
export class TestController {
  @MessagePattern('sum')
  sum(@Payload() data: number[]): number {
    return data.reduce((a, b) => a + b, 0);
  }

  @MessagePattern({ cmd: 'sum', v: 2 })
  sumObject(@Payload() data: number[]): number {
    return data.reduce((a, b) => a + b, 0) * 2;
  }

  @MessagePattern('async')
  async asyncEcho(@Payload() data: unknown): Promise<unknown> {
    await new Promise((r) => setImmediate(r));
    return data;
  }

  @MessagePattern('echo')
  echo(@Payload() data: unknown): unknown {
    return data;
  }

  @MessagePattern('stream')
  stream(@Payload() n: number): Observable<number> {
    return n === 0 ? EMPTY : from(Array.from({ length: n }, (_, i) => i));
  }

  @MessagePattern('flood')
  flood(@Payload() { n, size }: { n: number; size: number }): Observable<string> {
    const chunk = 'y'.repeat(size);
    return interval(0).pipe(
      take(n),
      map(() => chunk),
    );
  }

  @MessagePattern('blob')
  blob(@Payload() size: number): string {
    return 'b'.repeat(size);
  }

  @MessagePattern('async-blob')
  async asyncBlob(@Payload() size: number): Promise<string> {
    await new Promise((r) => setTimeout(r, 1));
    return 'a'.repeat(size);
  }

  @MessagePattern('ticks')
  ticks(@Payload() n: number): Observable<number> {
    return interval(1).pipe(
      take(n),
      map((i) => i * 10),
    );
  }

  @MessagePattern('rpc-error')
  rpcError(): never {
    throw new RpcException({ code: 'E_DECLINED', detail: { amount: 5 } });
  }

  @MessagePattern('plain-error')
  plainError(): never {
    throw new Error('secret internals at /srv/app.js:12');
  }

  @MessagePattern('context')
  context(@Ctx() ctx: WsContext): unknown {
    seen.contexts.push(ctx);
    return {
      isWsContext: ctx instanceof WsContext,
      pattern: ctx.getPattern(),
      metadata: ctx.getMetadata() ?? null,
      auth: ctx.getAuth() ?? null,
      connectionId: ctx.getConnectionId(),
      path: ctx.getRequest().url,
      open: ctx.getSocket().readyState === 1,
    };
  }

  @MessagePattern('slow')
  async slow(@Payload() ms: number): Promise<string> {
    seen.slowStarted++;
    await new Promise((r) => setTimeout(r, ms));
    return `slept ${ms}`;
  }

  @UsePipes(new ValidationPipe({ exceptionFactory: (errors) => new RpcException(errors.flatMap((e) => Object.values(e.constraints ?? {}))) }))
  @MessagePattern('order')
  order(@Payload() dto: OrderDto): number {
    return dto.quantity;
  }

  @EventPattern('recorded')
  record(@Payload() data: unknown): void {
    seen.events.push(data);
  }

  @EventPattern('recorded')
  recordAgain(@Payload() data: unknown): void {
    seen.second.push(data);
  }

  @MessagePattern('count')
  count(): number {
    return ++seen.counted;
  }

  @EventPattern('slow-event')
  async slowEvent(@Payload() ms: number): Promise<void> {
    seen.slowEvents.started++;
    await new Promise((r) => setTimeout(r, ms));
    seen.slowEvents.finished++;
  }

  @EventPattern('explode')
  explode(@Payload() _data: unknown): void {
    throw new Error('event handler failure');
  }
}
