import { Inject, Injectable, Logger } from '@nestjs/common';
import { catchError, firstValueFrom, map, of, timeout, TimeoutError } from 'rxjs';
import { PATTERNS, reasonOf, type Order, type OrderOutcome } from '../domain.js';
import { PEERS, type Peers } from '../peers.js';

/** How long the orchestrator waits for each step before compensating (a round trip through a queue on a busy machine can take seconds). */
export const STEP_TIMEOUT_MS = 5000;

type Step<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * The orchestrated saga: the orders service calls each participant in turn with `send()`,
 * bounds every call with `timeout()`, turns failures into values with `catchError`, and
 * undoes what was done when a later step fails.
 */
@Injectable()
export class OrderOrchestrator {
  private readonly logger = new Logger('OrderOrchestrator');

  constructor(@Inject(PEERS) private readonly peers: Peers) {}

  async place(order: Order): Promise<OrderOutcome> {
    const steps: string[] = [];
    const reserved = await this.call<{ reserved: true }>('inventory', PATTERNS.reserve, order);
    if (!reserved.ok) {
      steps.push('inventory.failed');
      // A timed-out reservation may still land: release it, and the warehouse refuses it later.
      await this.call('inventory', PATTERNS.release, { orderId: order.orderId });
      steps.push('inventory.released');
      return this.cancel(order, reserved.reason, steps);
    }
    steps.push('inventory.reserved');

    const charged = await this.call<{ paymentId: string }>('payments', PATTERNS.charge, order);
    if (!charged.ok) {
      steps.push('payment.declined');
      const released = await this.call('inventory', PATTERNS.release, { orderId: order.orderId });
      steps.push(released.ok ? 'inventory.released' : 'inventory.release-failed');
      return this.cancel(order, charged.reason, steps);
    }
    steps.push('payment.captured');
    return { orderId: order.orderId, status: 'confirmed', paymentId: charged.value.paymentId, steps };
  }

  private call<T>(service: 'inventory' | 'payments', pattern: string, data: unknown): Promise<Step<T>> {
    return firstValueFrom(
      this.peers[service].send<T>(pattern, data).pipe(
        timeout(STEP_TIMEOUT_MS),
        map((value): Step<T> => ({ ok: true, value })),
        catchError((err) => of<Step<T>>({ ok: false, reason: describe(err, service, pattern) })),
      ),
    );
  }

  private cancel(order: Order, reason: string, steps: string[]): OrderOutcome {
    this.logger.warn(`order ${order.orderId} cancelled: ${reason}`);
    return { orderId: order.orderId, status: 'cancelled', reason, steps };
  }
}

function describe(err: unknown, service: string, pattern: string): string {
  if (err instanceof TimeoutError) return `${service} did not answer ${pattern} within ${STEP_TIMEOUT_MS} ms`;
  return reasonOf(err);
}
