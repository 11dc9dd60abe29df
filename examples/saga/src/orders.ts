import { Controller } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { EVENTS, type Order, type OrderOutcome } from './domain.js';
import { OrderEvents } from './choreographed/order-events.js';
import { OrderOrchestrator } from './orchestrated/orchestrator.js';

export type Variant = 'orchestrated' | 'choreographed';

@Controller()
export class OrdersController {
  constructor(
    private readonly orchestrator: OrderOrchestrator,
    private readonly events: OrderEvents,
  ) {}

  @MessagePattern('orders.place')
  place(@Payload() { order, variant }: { order: Order; variant: Variant }): Promise<OrderOutcome> {
    return variant === 'orchestrated' ? this.orchestrator.place(order) : this.events.place(order);
  }

  @EventPattern(EVENTS.paymentCompleted)
  onPaymentCompleted(@Payload() { orderId, paymentId }: { orderId: string; paymentId: string }): void {
    this.events.step(orderId, 'inventory.reserved');
    this.events.finish(orderId, (steps) => ({ orderId, status: 'confirmed', paymentId, steps: [...steps, 'payment.captured'] }));
  }

  @EventPattern(EVENTS.inventoryRejected)
  onInventoryRejected(@Payload() { orderId, reason }: { orderId: string; reason: string }): void {
    this.events.finish(orderId, (steps) => ({ orderId, status: 'cancelled', reason, steps: [...steps, 'inventory.failed'] }));
  }

  @EventPattern(EVENTS.inventoryReleased)
  onInventoryReleased(@Payload() { orderId, reason }: { orderId: string; reason: string }): void {
    this.events.finish(orderId, (steps) => ({
      orderId,
      status: 'cancelled',
      reason,
      steps: [...steps, 'inventory.reserved', 'payment.declined', 'inventory.released'],
    }));
  }
}
