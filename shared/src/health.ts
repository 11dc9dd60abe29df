import { describeError } from './errors.js';

export type HealthStatus = 'up' | 'down';

/** What `@nestjs/terminus` takes from an indicator: `{ [key]: { status, ...details } }`; a `down` one fails the check. */
export type HealthIndicatorResult<Key extends string = string> = Record<Key, { status: HealthStatus; [detail: string]: unknown }>;

export interface HealthOptions<Key extends string = string> {
  /** Key of the result (the name in terminus's report). Default: the transport's name, e.g. "sqs". */
  key?: Key;
  /** Bound on the check in ms: a backend that does not answer in time is `down`. Default 3000. */
  timeoutMs?: number;
}

export const HEALTH_TIMEOUT_MS = 3000;

/**
 * Runs a probe bounded by `timeoutMs` (its signal aborts then): what it returns are the details of
 * an `up` result; a throw or the timeout is `down` with the reason. Never rejects.
 */
export async function checkHealth<Key extends string>(
  key: Key,
  timeoutMs: number,
  probe: (signal: AbortSignal) => Promise<Record<string, unknown>>,
): Promise<HealthIndicatorResult<Key>> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
  });
  try {
    const details = await Promise.race([probe(controller.signal), timeout]);
    return { [key]: { status: 'up', ...details } } as unknown as HealthIndicatorResult<Key>;
  } catch (err) {
    return { [key]: { status: 'down', message: describeError(err).message } } as unknown as HealthIndicatorResult<Key>;
  } finally {
    clearTimeout(timer);
  }
}

/** Fails a probe unless the transport's status is connected. */
export function assertConnected(transport: string, status: string | undefined): void {
  if (status !== 'connected') throw new Error(`${transport} is ${status ?? 'not started'}`);
}

/** The default key of a transport's indicator: "SqsServer" → "sqs". */
export const healthKey = (transport: string): string => transport.replace(/(Server|Client)$/, '').toLowerCase();
