/** The saga's messages and the rules each service applies. */
export interface OrderLine {
  sku: string;
  quantity: number;
}

export interface Order {
  orderId: string;
  customerId: string;
  lines: OrderLine[];
  /** In cents. */
  amount: number;
  /** A card whose number ends in 0002 is declined (as payment sandboxes do). */
  card: string;
}

export type OrderOutcome =
  | { orderId: string; status: 'confirmed'; paymentId: string; steps: string[] }
  | { orderId: string; status: 'cancelled'; reason: string; steps: string[] };

export const PATTERNS = {
  reserve: 'inventory.reserve',
  release: 'inventory.release',
  stock: 'inventory.stock',
  charge: 'payments.charge',
  refund: 'payments.refund',
} as const;

/** Events of the choreographed variant; each names its one consumer (queues are point to point). */
export const EVENTS = {
  orderPlaced: 'order.placed',
  inventoryReserved: 'inventory.reserved',
  inventoryRejected: 'inventory.rejected',
  paymentCompleted: 'payment.completed',
  paymentDeclined: 'payment.declined',
  inventoryReleased: 'inventory.released',
} as const;

export const DECLINED_CARD_SUFFIX = '0002';
/** A sku whose warehouse never answers in time: the orchestrator's timeout path. */
export const SLOW_SKU = 'slow-sku';
/** How long that warehouse takes: 2 s after the orchestrator has given up. */
export const SLOW_WAREHOUSE_MS = 7000;

export const INITIAL_STOCK: Record<string, number> = { 'book-1': 10, 'pen-7': 100, [SLOW_SKU]: 5 };

/** A short reason for a failed step: the error's `code` when it has one (RpcException objects). */
export function reasonOf(err: unknown): string {
  const value = err && typeof err === 'object' && 'getError' in err ? (err as { getError(): unknown }).getError() : err;
  if (value && typeof value === 'object' && 'code' in value) return String((value as { code: unknown }).code);
  if (typeof value === 'string') return value;
  return (value as Error)?.message ?? JSON.stringify(value);
}
