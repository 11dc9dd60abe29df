import { Inject, Injectable } from '@nestjs/common';
import { firstValueFrom } from 'rxjs';
import { EVENTS, type Order, type OrderOutcome } from '../domain.js';
import { PEERS, type Peers } from '../peers.js';

/** How long the orders service waits for the saga's last event. */
export const SAGA_TIMEOUT_MS = 15_000;

interface Waiting {
  steps: string[];
  resolve: (outcome: OrderOutcome) => void;
}

/**
 * The choreographed saga, orders' part: emit `order.placed` and let inventory and payments react
 * to each other's events; the order ends on `payment.completed` (confirmed), `inventory.rejected`
 * or `inventory.released` (cancelled, stock given back).
 */
@Injectable()
export class OrderEvents {
  private readonly waiting = new Map<string, Waiting>();

  constructor(@Inject(PEERS) private readonly peers: Peers) {}

  async place(order: Order): Promise<OrderOutcome> {
    const outcome = new Promise<OrderOutcome>((resolve) => this.waiting.set(order.orderId, { steps: ['order.placed'], resolve }));
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<OrderOutcome>((resolve) => {
      timer = setTimeout(() => {
        const steps = this.waiting.get(order.orderId)?.steps ?? [];
        this.waiting.delete(order.orderId);
        resolve({ orderId: order.orderId, status: 'cancelled', reason: `no outcome within ${SAGA_TIMEOUT_MS} ms`, steps });
      }, SAGA_TIMEOUT_MS);
    });
    await firstValueFrom(this.peers.inventory.emit(EVENTS.orderPlaced, order), { defaultValue: undefined });
    return Promise.race([outcome, expired]).finally(() => clearTimeout(timer));
  }

  step(orderId: string, event: string): void {
    this.waiting.get(orderId)?.steps.push(event);
  }

  finish(orderId: string, outcome: (steps: string[]) => OrderOutcome): void {
    const waiting = this.waiting.get(orderId);
    if (!waiting) return; // a duplicate (redelivered) event after the order ended
    this.waiting.delete(orderId);
    waiting.resolve(outcome(waiting.steps));
  }
}
