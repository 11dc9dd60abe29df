import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import type { Observable } from 'rxjs';
import type { ServiceName } from './peers.js';
import { activeTraceId } from './tracing.js';

/** One log line of a service: what it handled, for which order, in which trace. */
export interface LogEntry {
  service: ServiceName;
  /** The handler that ran (`InventoryController.reserve`). */
  handler: string;
  orderId?: string;
  /** The trace the handler ran in (the caller's, carried by the transport). */
  traceId?: string;
}

export type LogSink = (entry: LogEntry) => void;

export const formatEntry = (e: LogEntry) =>
  `[${e.service.padEnd(9)}] trace ${e.traceId ?? '-'.padEnd(32)}  ${e.handler}${e.orderId ? ` (order ${e.orderId})` : ''}`;

export const printEntry: LogSink = (entry) => console.log(formatEntry(entry));

/** The order a message is about, whichever shape it has (an order, `{ order }`, `{ orderId }`). */
function orderIdOf(data: unknown): string | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const record = data as { orderId?: unknown; order?: { orderId?: unknown } };
  const id = record.orderId ?? record.order?.orderId;
  return typeof id === 'string' ? id : undefined;
}

/**
 * Logs every message a service handles with the id of the trace it runs in: the transports run
 * each handler inside the trace context the message carried, so the lines of every service that
 * took part in one saga share its trace id.
 */
@Injectable()
export class TraceLog implements NestInterceptor {
  constructor(
    private readonly service: ServiceName,
    private readonly sink: LogSink = printEntry,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    this.sink({
      service: this.service,
      handler: `${context.getClass().name}.${context.getHandler().name}`,
      orderId: orderIdOf(context.switchToRpc().getData()),
      traceId: activeTraceId(),
    });
    return next.handle();
  }
}
