import {
  AckPolicy,
  type ConsumerConfig,
  type JetStreamClient as NatsJetStream,
  type JetStreamManager,
  type JsMsg,
  jetstream,
  jetstreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { type INestMicroservice, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { resolveBackend } from '@nest-transports/backends';
import { uniqueName } from '@nest-transports/shared';
import { scaled, within } from '@nest-transports/backends';
import { JetStreamClient, type JetStreamClientOptions, JetStreamServer, type JetStreamServerOptions } from '../src/index.js';

/** The NATS server's URL (NATS_URL, or the local one), or why there is none. */
export async function natsBackend(): Promise<{ url?: string; reason?: string }> {
  const backend = await resolveBackend('nats');
  return backend.available ? { url: backend.url } : { reason: backend.reason };
}

/** A stream name, its subject space and a durable name, unique to one test. */
export function names(prefix = 'js') {
  const id = uniqueName(prefix).replace(/[^A-Za-z0-9-]/g, '');
  return { stream: id.toUpperCase(), subjects: `${id}.>`, subject: (s: string) => `${id}.${s}`, consumer: `${id}-svc`, prefix: id };
}

/** Raw access to NATS for a test file: provisioning, raw publishing, inspection; deletes its streams in `close()`. */
export class Fixture {
  private readonly streams = new Set<string>();

  private constructor(
    readonly nc: NatsConnection,
    readonly jsm: JetStreamManager,
    readonly js: NatsJetStream,
  ) {}

  static async open(url: string): Promise<Fixture> {
    const nc = await connect({ servers: url });
    return new Fixture(nc, await jetstreamManager(nc), jetstream(nc));
  }

  async stream(name: string, subjects: string[], config: Partial<StreamConfig> = {}): Promise<void> {
    this.streams.add(name);
    await this.jsm.streams.add({ ...config, name, subjects });
  }

  async consumer(stream: string, name: string, config: Partial<ConsumerConfig> = {}): Promise<void> {
    await this.jsm.consumers.add(stream, { ack_policy: AckPolicy.Explicit, ...config, durable_name: name });
  }

  /** Remembers a stream someone else creates (autoCreate), so that `close()` deletes it. */
  track(stream: string): void {
    this.streams.add(stream);
  }

  /** The first `n` messages of a stream, read by an ephemeral ordered consumer (bounded). */
  async read(stream: string, n: number, ms = 10_000): Promise<JsMsg[]> {
    const consumer = await this.js.consumers.get(stream);
    const got: JsMsg[] = [];
    const messages = await consumer.consume();
    await within(
      (async () => {
        for await (const m of messages) {
          got.push(m);
          if (got.length >= n) break;
        }
      })(),
      ms,
      `${n} message(s) in stream ${stream}`,
    ).finally(() => messages.close());
    return got;
  }

  async pending(stream: string, consumer: string) {
    const info = await this.jsm.consumers.info(stream, consumer);
    return { unacked: info.num_ack_pending, waiting: info.num_pending, redelivered: info.num_redelivered };
  }

  /** The consumer's counts once nothing is left unacknowledged (acks are asynchronous), or after `ms`. */
  async settled(stream: string, consumer: string, ms = 5000) {
    const deadline = Date.now() + scaled(ms);
    let counts = await this.pending(stream, consumer);
    while (counts.unacked > 0 && Date.now() < deadline) {
      await this.nc.flush(); // one round trip to the NATS server between polls
      counts = await this.pending(stream, consumer);
    }
    return counts;
  }

  async close(): Promise<void> {
    for (const stream of this.streams) await this.jsm.streams.delete(stream).catch(() => undefined);
    await this.nc.close();
  }
}

/** Starts a Nest microservice with the given controllers on a JetStreamServer. */
export async function startApp(
  url: string,
  controllers: Type[],
  options: JetStreamServerOptions,
): Promise<{ app: INestMicroservice; server: JetStreamServer }> {
  @Module({ controllers })
  class AppModule {}
  const server = new JetStreamServer({ servers: url, ...options });
  const app = await NestFactory.createMicroservice(AppModule, { strategy: server, logger: false });
  await app.listen();
  return { app, server };
}

export function client(url: string, options: JetStreamClientOptions = {}): JetStreamClient {
  return new JetStreamClient({ servers: url, ...options });
}

export { Seen } from '@nest-transports/backends';
