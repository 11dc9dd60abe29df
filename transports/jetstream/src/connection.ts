import type { EventEmitter } from 'node:events';
import { type JetStreamManager, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection, type Status } from '@nats-io/transport-node';
import { BackendUnreachableError, messageOf, TransportError, TransportStatus, within } from '@nest-transports/shared';
import { JETSTREAM_DEFAULTS, type JetStreamCommonOptions } from './options.js';

/** A connection, whether the transport owns it (and so closes it), and its JetStream manager. */
export interface NatsLink {
  nc: NatsConnection;
  owned: boolean;
  jsm: JetStreamManager;
}

/** A long outage must not close the connection for good: reconnect until closed, unless told otherwise. */
export function withReconnectDefaults<T extends JetStreamCommonOptions>(options: T): T {
  return { ...options, connectionOptions: { maxReconnectAttempts: -1, ...options.connectionOptions } };
}

/**
 * Connects (or takes the given connection) and checks that JetStream answers, within
 * `connectTimeout`: an unreachable server is a `BackendUnreachableError`, a server without
 * JetStream a `TransportError` saying how to enable it.
 */
export async function openLink(transport: string, options: JetStreamCommonOptions): Promise<NatsLink> {
  const timeout = options.connectTimeout ?? JETSTREAM_DEFAULTS.connectTimeout;
  const servers = options.servers ?? JETSTREAM_DEFAULTS.servers;
  let nc = options.connection;
  const owned = nc === undefined;
  if (!nc) {
    try {
      nc = await within(connect({ ...options.connectionOptions, servers, timeout }), timeout + 1000, `a connection to ${String(servers)}`);
    } catch (err) {
      throw new BackendUnreachableError(transport, `NATS at ${String(servers)}`, err);
    }
  }
  try {
    const jsm = await within(jetstreamManager(nc, { timeout }), timeout + 1000, 'the JetStream API');
    return { nc, owned, jsm };
  } catch (err) {
    if (owned) await nc.close().catch(() => undefined);
    throw new TransportError(
      'JETSTREAM_UNAVAILABLE',
      `${transport}: JetStream does not answer on ${nc.getServer()} (${messageOf(err) ?? String(err)}). Start nats-server with JetStream enabled (-js), or enable it for this account.`,
      { cause: err },
    );
  }
}

/**
 * Follows the connection's status until it closes: `status` as Nest's NATS transporter reports it
 * (disconnect → disconnected, reconnecting, reconnect → connected), each NATS status event passed
 * to `events` under its type (`disconnect`, `reconnect`, `error`, `slowConsumer`…).
 */
export function followStatus(nc: NatsConnection, report: (status: TransportStatus) => void, events: EventEmitter): void {
  void (async () => {
    for await (const s of nc.status() as AsyncIterable<Status>) {
      if (s.type === 'disconnect') report(TransportStatus.DISCONNECTED);
      else if (s.type === 'reconnecting') report(TransportStatus.RECONNECTING);
      else if (s.type === 'reconnect') report(TransportStatus.CONNECTED);
      if (s.type === 'error') events.emit('error', s.error);
      else events.emit(s.type, s);
    }
  })().catch(() => undefined);
}

/**
 * Flushes what is buffered (acks, replies) for up to `ms` — a server that is down cannot take
 * it, and close() must not hang — then closes an owned connection.
 */
export async function closeLink(link: NatsLink | undefined, ms: number): Promise<void> {
  if (!link || link.nc.isClosed()) return;
  await within(link.nc.flush(), ms, 'the NATS flush').catch(() => undefined);
  if (link.owned) await link.nc.close().catch(() => undefined);
}
