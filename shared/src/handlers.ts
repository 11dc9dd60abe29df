import type { MessageHandler, Server } from '@nestjs/microservices';
import { isObservable, lastValueFrom } from 'rxjs';
import { defaultIfEmpty } from 'rxjs/operators';

type HookedServer = Server & {
  runWithProcessingHooks?: (ctx: unknown, fn: (runEndHook: () => void) => Promise<void>) => Promise<void>;
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
