import { randomUUID } from 'node:crypto';
import { firstValueFrom, timeout } from 'rxjs';
import { DECLINED_CARD_SUFFIX, SLOW_SKU, type Order, type OrderOutcome } from './domain.js';
import type { Variant } from './orders.js';
import { startService, stopService, type RunningService } from './services.js';
import { formatEntry, type LogEntry } from './trace-log.js';
import { inNewTrace, startTracing } from './tracing.js';
import { wire, type TransportName } from './transports.js';

export interface ScenarioResult {
  variant: Variant;
  scenario: string;
  outcome: OrderOutcome;
  /** Stock of the ordered sku before and after: equal when the saga compensated. */
  stock: { sku: string; before: number; after: number };
  /** The trace the scenario ran in, and what each service logged about its order (with the trace it ran in). */
  traceId: string;
  logs: LogEntry[];
}

interface Scenario {
  name: string;
  variants: Variant[];
  order: (orderId: string) => Order;
}

const order = (orderId: string, sku: string, quantity: number, card: string): Order => ({
  orderId,
  customerId: 'c-42',
  lines: [{ sku, quantity }],
  amount: 1999 * quantity,
  card,
});

export const SCENARIOS: Scenario[] = [
  { name: 'happy path', variants: ['orchestrated', 'choreographed'], order: (id) => order(id, 'book-1', 2, '4242424242424242') },
  { name: 'payment declined', variants: ['orchestrated', 'choreographed'], order: (id) => order(id, 'pen-7', 3, `400000000000${DECLINED_CARD_SUFFIX}`) },
  { name: 'out of stock', variants: ['orchestrated', 'choreographed'], order: (id) => order(id, 'book-1', 1000, '4242424242424242') },
  { name: 'inventory timeout', variants: ['orchestrated'], order: (id) => order(id, SLOW_SKU, 1, '4242424242424242') },
];

/**
 * Starts orders, inventory and payments on `transport`, places one order per scenario, each
 * scenario in a trace of its own (the OpenTelemetry SDK is registered here), stops them. `log` gets every line:
 * the services' (what they handled, in which trace) and one per order.
 */
export async function runSaga(transport: TransportName, variants: Variant[], log: (line: string) => void = () => undefined): Promise<ScenarioResult[]> {
  startTracing();
  const namespace = `saga-${randomUUID().slice(0, 8)}`;
  const wiring = await wire(transport, namespace);
  const services: RunningService[] = [];
  const entries: LogEntry[] = [];
  const sink = (entry: LogEntry) => {
    entries.push(entry);
    log(formatEntry(entry));
  };
  const gateway = wiring.client('orders');
  try {
    for (const name of ['inventory', 'payments', 'orders'] as const) services.push(await startService(name, wiring, sink));
    const inventory = wiring.client('inventory');
    const stockOf = (sku: string) => firstValueFrom(inventory.send<number>('inventory.stock', sku).pipe(timeout(10_000)));
    const results: ScenarioResult[] = [];
    try {
      for (const variant of variants) {
        for (const scenario of SCENARIOS.filter((s) => s.variants.includes(variant))) {
          const placed = scenario.order(`${namespace}-${results.length + 1}`);
          const sku = placed.lines[0].sku;
          const { result, traceId } = await inNewTrace(`${scenario.name} (${variant})`, async () => {
            const before = await stockOf(sku);
            const outcome = await firstValueFrom(gateway.send<OrderOutcome>('orders.place', { order: placed, variant }).pipe(timeout(30_000)));
            if (sku === SLOW_SKU) await new Promise((r) => setTimeout(r, 3000)); // let the late reservation arrive (2 s after the timeout): it must be refused
            return { outcome, before, after: await stockOf(sku) };
          });
          const { outcome, before, after } = result;
          const logs = entries.filter((e) => e.orderId === placed.orderId);
          results.push({ variant, scenario: scenario.name, outcome, stock: { sku, before, after }, traceId, logs });
          const detail = outcome.status === 'confirmed' ? `payment ${outcome.paymentId}` : `reason: ${outcome.reason}`;
          const traces = [...new Set(logs.map((e) => e.traceId ?? 'none'))];
          const across = [...new Set(logs.map((e) => e.service))].join(', ');
          log(
            `${transport} · ${variant} · ${scenario.name}: ${outcome.status} (${detail}); steps ${outcome.steps.join(' → ')}; stock of ${sku} ${before} → ${after}; ` +
              (traces.length === 1 && traces[0] === traceId ? `trace ${traceId} across ${across}` : `traces ${traces.join(', ')} (placed in ${traceId})`),
          );
        }
      }
    } finally {
      await inventory.close();
    }
    return results;
  } finally {
    await gateway.close();
    for (const service of services.reverse()) await stopService(service);
    await wiring.dispose();
  }
}
