import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

export const NATS_URL = 'nats://127.0.0.1:4222';

/**
 * The names every JetStream row uses for its run: a file-stored stream capturing `<ns>.>`, events
 * published on `<ns>.tick`, one durable consumer. Stream names take no `.`; the run's ns has none.
 */
export const jetStreamNames = (ns: string) => ({
  stream: ns.toUpperCase(),
  subjects: [`${ns}.>`],
  subject: (route: string) => `${ns}.${route}`,
  consumer: `${ns}-svc`,
});

/** Deletes the row's streams (and with them their consumers): nothing of a run stays on the NATS server. */
export async function deleteStreams(url: string | undefined, streams: string[]): Promise<void> {
  const nc = await connect({ servers: url ?? NATS_URL });
  try {
    const jsm = await jetstreamManager(nc);
    for (const stream of streams) await jsm.streams.delete(stream).catch(() => undefined);
  } finally {
    await nc.close();
  }
}
