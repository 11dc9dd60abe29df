import type { MessageHandler, Server, WritePacket } from '@nestjs/microservices';
import { isObservable, lastValueFrom, type Observable } from 'rxjs';
import { defaultIfEmpty } from 'rxjs/operators';

type HookedServer = Server & {
  runWithProcessingHooks?: (ctx: unknown, fn: (runEndHook: () => void) => Promise<void>) => Promise<void>;
  handleRequest?: (ctx: unknown, produce: () => Promise<Observable<unknown>>, respond: (p: WritePacket) => unknown) => Promise<void>;
  onProcessingStartHook?: unknown;
  onProcessingEndHook?: unknown;
};

/**
 * Runs every `@EventPattern` handler for a packet and settles with the outcome.
 *
 * Nest's `Server.handleEvent()` resolves even when a handler throws (the error ends in
 * a stream nobody awaits), so a broker transport that acks after it would ack failures.
 * This awaits the handlers' stream instead, as `ServerKafka` does, and rejects when any
 * handler failed. Nest 12's processing hooks run around it when present.
 */
export async function runEventHandler(server: Server, handler: MessageHandler, data: unknown, context: unknown): Promise<void> {
  const run = async (runEndHook: () => void) => {
    try {
      // Nest chains the other handlers of the pattern into this one (forkJoin).
      const result = await handler(data, context);
      if (isObservable(result)) await lastValueFrom(result.pipe(defaultIfEmpty(undefined)));
    } finally {
      runEndHook();
    }
  };
  const hooked = server as HookedServer;
  if (typeof hooked.runWithProcessingHooks === 'function') {
    return hooked.runWithProcessingHooks(context, run);
  }
  return run(() => undefined);
}

/** Nest's no-op processing start hook of each server, as it was constructed. */
const defaultStartHooks = new WeakMap<object, unknown>();

/**
 * Call from the server's constructor: remembers Nest's no-op processing start hook, so that
 * `runRequestHandler` sees whether one was set since (without this, it always runs the hooks).
 */
export function rememberDefaultHooks(server: object): void {
  defaultStartHooks.set(server, (server as HookedServer).onProcessingStartHook);
}

/** True when Nest 12's processing hooks (tracing, metrics) are set on the server. */
function hasProcessingHooks(server: HookedServer): boolean {
  if (typeof server.handleRequest !== 'function') return false; // Nest 11: no hooks
  return server.onProcessingEndHook !== undefined || !defaultStartHooks.has(server) || server.onProcessingStartHook !== defaultStartHooks.get(server);
}

/**
 * Runs a `@MessagePattern` handler and hands its replies to `respond`, as Nest's `handleRequest`
 * (Nest 12: inside the processing hooks) or `send` (Nest 11) does. Without processing hooks a
 * plain result (a value, or a Promise of one) is answered at once rather than through Nest's
 * reply stream (an rxjs pipe and a `process.nextTick` per request); an Observable still goes
 * through it.
 */
export async function runRequestHandler(
  server: Server,
  handler: MessageHandler,
  data: unknown,
  context: unknown,
  respond: (reply: WritePacket) => unknown,
): Promise<void> {
  const hooked = server as HookedServer;
  if (hasProcessingHooks(hooked)) {
    return hooked.handleRequest!(context, async () => server.transformToObservable(await handler(data, context)), respond);
  }
  const result = await handler(data, context);
  if (isObservable(result)) return void server.send(result, respond as (p: WritePacket) => void);
  // Awaited only when it returns a promise: `await undefined` would cost a microtask per request.
  const sent = respond({ response: result, isDisposed: true });
  if (sent instanceof Promise) await sent;
}
