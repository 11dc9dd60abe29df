import 'reflect-metadata';
import { stopAllBackends } from '@nest-transports/backends';
import type { Variant } from './orders.js';
import { runSaga } from './run.js';
import { TRANSPORTS, type TransportName } from './transports.js';

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

const transport = argument('transport', 'ws') as TransportName;
const variant = argument('variant', 'both');
if (!TRANSPORTS.includes(transport)) {
  console.error(`--transport must be one of ${TRANSPORTS.join(', ')} (got "${transport}")`);
  process.exit(2);
}
if (!['orchestrated', 'choreographed', 'both'].includes(variant)) {
  console.error(`--variant must be orchestrated, choreographed or both (got "${variant}")`);
  process.exit(2);
}
const variants: Variant[] = variant === 'both' ? ['orchestrated', 'choreographed'] : [variant as Variant];

try {
  const results = await runSaga(transport, variants, (line) => console.log(line));
  const compensated = results.filter((r) => r.outcome.status === 'cancelled' && r.stock.before === r.stock.after).length;
  console.log(
    `\n${results.length} orders over ${transport}: ${results.filter((r) => r.outcome.status === 'confirmed').length} confirmed, ${compensated} cancelled with stock restored`,
  );
} catch (err) {
  console.error(`saga over ${transport} failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await stopAllBackends();
}
