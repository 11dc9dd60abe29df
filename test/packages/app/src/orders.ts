import { Injectable } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';

export const ORDERS = 'ORDERS';

export interface Order {
  id: string;
  items: number[];
}

export interface TotalReply {
  total: number;
  /** The class of the `@Ctx()` argument, checked with `instanceof` against the package's export. */
  context: string;
  pattern: string;
}

export interface SeenEvent {
  order: Order;
  context: string;
  pattern: string;
}

export function orderTotal(items: number[]): number {
  if (items.length === 0) throw new RpcException({ code: 'EMPTY_ORDER', message: 'an order needs at least one item' });
  return items.reduce((sum, n) => sum + n, 0);
}

/** Names the context an `@Ctx()` parameter got: the expected class when it is an instance of it. */
export function contextName(ctx: object, expected: abstract new (...args: any[]) => object): string {
  return ctx instanceof expected ? expected.name : `not ${expected.name}: ${ctx.constructor.name}`;
}

/** Events the handlers saw; the run waits for the next one, bounded. */
@Injectable()
export class EventLog {
  private waiting: Array<(event: SeenEvent) => void> = [];

  record(event: SeenEvent): void {
    for (const resolve of this.waiting.splice(0)) resolve(event);
  }

  next(timeoutMs: number): Promise<SeenEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no event within ${timeoutMs} ms`)), timeoutMs);
      this.waiting.push((event) => {
        clearTimeout(timer);
        resolve(event);
      });
    });
  }
}

/** A server the run started, the client module that talks to it, and how to take both down. */
export interface StartedTransport {
  events: EventLog;
  clientModule: import('@nestjs/common').DynamicModule;
  close(): Promise<void>;
}
