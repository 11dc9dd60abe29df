import type { WritePacket } from '@nestjs/microservices';
import type { Observable } from 'rxjs';

/**
 * Publishes every value of a handler's stream, in order, one `respond` at a time, and
 * settles when the last reply is out. As in Nest's `Server.send`, completion is folded
 * into the last queued reply instead of costing a packet of its own.
 */
export function replyWithStream(stream$: Observable<unknown>, respond: (packet: WritePacket) => Promise<void>): Promise<void> {
  return new Promise((resolve, reject) => {
    const queue: WritePacket[] = [];
    let draining = false;
    let finished = false;
    let failure: unknown;

    const drain = async () => {
      if (draining) return;
      draining = true;
      while (queue.length > 0) {
        const packet = queue.shift()!;
        try {
          await respond(packet);
        } catch (err) {
          failure ??= err;
        }
      }
      draining = false;
      if (finished) {
        if (failure === undefined) resolve();
        else reject(failure);
      }
    };
    const push = (packet: WritePacket, last = false) => {
      if (last) finished = true;
      const tail = queue[queue.length - 1];
      if (packet.isDisposed && !packet.err && tail && !tail.isDisposed) tail.isDisposed = true;
      else queue.push(packet);
      // A microtask later, so that a value and the completion emitted right after it
      // (a plain or Promise result) go out as one packet.
      queueMicrotask(() => void drain());
    };

    stream$.subscribe({
      next: (response) => push({ response }),
      error: (err) => push({ err, isDisposed: true }, true),
      complete: () => push({ isDisposed: true }, true),
    });
  });
}
