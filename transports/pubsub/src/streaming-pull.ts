import type { Subscription } from '@google-cloud/pubsub';

/** The part of @google-cloud/pubsub 5.x's MessageStream that start-up leaves behind. */
interface StartingStream {
  _keepAliveHandle?: NodeJS.Timeout;
}

/**
 * Closes a subscription's streaming pull without leaving library work running.
 *
 * @google-cloud/pubsub 5.x opens a streaming pull asynchronously (gRPC client, streams, wait for the
 * channel to be ready) and then sets a 30 s keep-alive interval, also when the subscription was
 * closed in the meantime: that interval is never cleared, and the connection the start-up was
 * waiting for outlives the close. Closed here, a subscription still starting gets its start-up
 * finished (bounded by `timeoutMs`) and the keep-alive interval cleared, whenever it appears.
 */
export async function closeStreamingPull(subscription: Subscription, timeoutMs: number): Promise<void> {
  const stream = (subscription as unknown as { _subscriber?: { _stream?: StartingStream } })._subscriber?._stream;
  const starting = stream !== undefined && '_keepAliveHandle' in stream && stream._keepAliveHandle === undefined;
  if (!starting) return subscription.close();

  let handle: NodeJS.Timeout | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const started = new Promise<void>((resolve) => {
    Object.defineProperty(stream, '_keepAliveHandle', {
      configurable: true,
      get: () => handle,
      set: (value: NodeJS.Timeout | undefined) => {
        handle = value;
        if (closed) clearInterval(value);
        resolve();
      },
    });
    timer = setTimeout(resolve, timeoutMs);
  });
  try {
    await subscription.close();
  } finally {
    closed = true;
    clearInterval(handle);
  }
  await started;
  clearTimeout(timer);
}
