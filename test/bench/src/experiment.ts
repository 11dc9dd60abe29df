/**
 * BENCH_SERVER_OPTIONS='{"maxConcurrency":100}': JSON merged into the sqs/pubsub server options,
 * to try a setting without editing code. Unset in real runs (the rows measure the defaults).
 */
export function experimentOptions(): Record<string, unknown> {
  const raw = process.env.BENCH_SERVER_OPTIONS;
  return raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
}
