import { Controller, Inject, Injectable } from '@nestjs/common';
import { EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { EVENTS, INITIAL_STOCK, PATTERNS, reasonOf, SLOW_SKU, SLOW_WAREHOUSE_MS, type Order, type OrderLine } from './domain.js';
import { PEERS, type Peers } from './peers.js';

@Injectable()
export class Stock {
  private readonly levels = new Map(Object.entries(INITIAL_STOCK));
  private readonly reservations = new Map<string, OrderLine[]>();
  /** Orders compensated before their reservation landed (a timed-out call): never reserve them later. */
  private readonly cancelled = new Set<string>();

  reserve(order: Order): void {
    if (this.cancelled.has(order.orderId)) throw new RpcException({ code: 'ORDER_CANCELLED', orderId: order.orderId });
    if (this.reservations.has(order.orderId)) return; // idempotent: a redelivered request changes nothing
    for (const { sku, quantity } of order.lines) {
      if ((this.levels.get(sku) ?? 0) < quantity) throw new RpcException({ code: 'OUT_OF_STOCK', sku });
    }
    for (const { sku, quantity } of order.lines) this.levels.set(sku, this.levels.get(sku)! - quantity);
    this.reservations.set(order.orderId, order.lines);
  }

  release(orderId: string): boolean {
    this.cancelled.add(orderId);
    const lines = this.reservations.get(orderId);
    if (!lines) return false;
    for (const { sku, quantity } of lines) this.levels.set(sku, (this.levels.get(sku) ?? 0) + quantity);
    this.reservations.delete(orderId);
    return true;
  }

  level(sku: string): number {
    return this.levels.get(sku) ?? 0;
  }
}

const slowWarehouse = (order: Order) => order.lines.some((l) => l.sku === SLOW_SKU);

@Controller()
export class InventoryController {
  constructor(
    private readonly stock: Stock,
    @Inject(PEERS) private readonly peers: Peers,
  ) {}

  @MessagePattern(PATTERNS.reserve)
  async reserve(@Payload() order: Order): Promise<{ reserved: true }> {
    if (slowWarehouse(order)) await new Promise((r) => setTimeout(r, SLOW_WAREHOUSE_MS));
    this.stock.reserve(order);
    return { reserved: true };
  }

  @MessagePattern(PATTERNS.release)
  release(@Payload() { orderId }: { orderId: string }): { released: boolean } {
    return { released: this.stock.release(orderId) };
  }

  @MessagePattern(PATTERNS.stock)
  level(@Payload() sku: string): number {
    return this.stock.level(sku);
  }

  @EventPattern(EVENTS.orderPlaced)
  async onOrderPlaced(@Payload() order: Order): Promise<void> {
    try {
      this.stock.reserve(order);
      await firstValueFrom(this.peers.payments.emit(EVENTS.inventoryReserved, order), { defaultValue: undefined });
    } catch (err) {
      const reason = reasonOf(err);
      await firstValueFrom(this.peers.orders.emit(EVENTS.inventoryRejected, { orderId: order.orderId, reason }), { defaultValue: undefined });
    }
  }

  @EventPattern(EVENTS.paymentDeclined)
  async onPaymentDeclined(@Payload() { orderId, reason }: { orderId: string; reason: string }): Promise<void> {
    this.stock.release(orderId);
    await firstValueFrom(this.peers.orders.emit(EVENTS.inventoryReleased, { orderId, reason }), { defaultValue: undefined });
  }
}
