import { Controller, Inject, Injectable } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { firstValueFrom } from 'rxjs';
import { DECLINED_CARD_SUFFIX, EVENTS, PATTERNS, reasonOf, type Order } from './domain.js';
import { PEERS, type Peers } from './peers.js';

const REPLICA = (process.env.HOSTNAME ?? hostname()).replace(/[^a-zA-Z0-9-]/g, '');

@Injectable()
export class Ledger {
  private readonly captured = new Map<string, { paymentId: string; amount: number }>();

  charge(order: Order): string {
    const existing = this.captured.get(order.orderId);
    if (existing) return existing.paymentId; // idempotent per order
    if (order.card.endsWith(DECLINED_CARD_SUFFIX)) throw new RpcException({ code: 'CARD_DECLINED', orderId: order.orderId });
    // The replica's name (the pod name in Kubernetes) tells which replica captured a payment.
    const paymentId = `pay_${REPLICA}_${randomUUID().slice(0, 8)}`;
    this.captured.set(order.orderId, { paymentId, amount: order.amount });
    return paymentId;
  }

  refund(orderId: string): boolean {
    return this.captured.delete(orderId);
  }
}

@Controller()
export class PaymentsController {
  constructor(
    private readonly ledger: Ledger,
    @Inject(PEERS) private readonly peers: Peers,
  ) {}

  @MessagePattern(PATTERNS.charge)
  charge(@Payload() order: Order): { paymentId: string } {
    return { paymentId: this.ledger.charge(order) };
  }

  @MessagePattern(PATTERNS.refund)
  refund(@Payload() { orderId }: { orderId: string }): { refunded: boolean } {
    return { refunded: this.ledger.refund(orderId) };
  }

  @EventPattern(EVENTS.inventoryReserved)
  async onInventoryReserved(@Payload() order: Order): Promise<void> {
    try {
      const paymentId = this.ledger.charge(order);
      await firstValueFrom(this.peers.orders.emit(EVENTS.paymentCompleted, { orderId: order.orderId, paymentId }), { defaultValue: undefined });
    } catch (err) {
      const reason = reasonOf(err);
      await firstValueFrom(this.peers.inventory.emit(EVENTS.paymentDeclined, { orderId: order.orderId, reason }), { defaultValue: undefined });
    }
  }
}
