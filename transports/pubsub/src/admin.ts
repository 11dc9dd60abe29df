import type { CreateSubscriptionOptions, PubSub } from '@google-cloud/pubsub';
import { BackendUnreachableError } from '@nest-transports/shared';
import { GrpcStatus, grpcCode, PubSubCredentialsError, PubSubResourceMissingError } from './errors.js';
import type { RedeliveryPolicy } from './redelivery.js';

const NETWORK_ERRORS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Where a PubSub client sends its calls, for error messages. */
export function endpointOf(pubsub: PubSub): string {
  const { servicePath, port } = pubsub.options as { servicePath?: string; port?: number | string };
  return servicePath ? `${servicePath}${port ? `:${port}` : ''}` : 'pubsub.googleapis.com';
}

/**
 * Start-up checks and creation of topics and subscriptions, each bounded by `timeoutMs` so
 * that an endpoint that does not answer fails `listen()`/`connect()` instead of hanging.
 */
export class PubSubAdmin {
  constructor(
    private readonly pubsub: PubSub,
    private readonly transport: string,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Signs in before the first call (not against an emulator). The library would otherwise fail
   * its first call with the auth library's raw error, and reject the stubs of the calls it never
   * made too: unhandled rejections that end the process even though the caller caught the error.
   */
  async checkCredentials(): Promise<void> {
    if (this.pubsub.isEmulator) return;
    let client: Awaited<ReturnType<PubSub['auth']['getClient']>>;
    try {
      client = await this.bounded(() => this.pubsub.auth.getClient());
    } catch (err) {
      throw err instanceof BackendUnreachableError ? err : new PubSubCredentialsError(this.transport, 'CREDENTIALS_MISSING', err);
    }
    try {
      await this.bounded(() => client.getRequestHeaders());
    } catch (err) {
      if (err instanceof BackendUnreachableError) throw err;
      if (NETWORK_ERRORS.has(String((err as { code?: unknown })?.code))) throw new BackendUnreachableError(this.transport, "Google's token endpoint", err);
      throw new PubSubCredentialsError(this.transport, 'CREDENTIALS_INVALID', err);
    }
  }

  /** Makes sure the topic exists (creating it when allowed); returns its full name. */
  async ensureTopic(name: string, create: boolean): Promise<string> {
    const topic = this.pubsub.topic(name);
    if (await this.exists(() => topic.getMetadata(this.gax()))) return topic.name;
    if (!create) throw new PubSubResourceMissingError(this.transport, 'topic', topic.name);
    await this.createIgnoringRace(() => topic.create(this.gax()));
    return topic.name;
  }

  /** Makes sure the subscription exists (creating it and its topic when allowed). */
  async ensureSubscription(name: string, topic: string | undefined, create: boolean, settings?: CreateSubscriptionOptions): Promise<string> {
    const subscription = this.pubsub.subscription(name);
    if (await this.exists(() => subscription.getMetadata(this.gax()))) return subscription.name;
    if (!create) throw new PubSubResourceMissingError(this.transport, 'subscription', subscription.name);
    if (!topic) {
      throw new PubSubResourceMissingError(this.transport, 'subscription', `${subscription.name}" (give its "topic" so that autoCreate can create it)`);
    }
    await this.ensureTopic(topic, true);
    await this.createIgnoringRace(() => this.pubsub.createSubscription(topic, name, { ...settings, gaxOpts: this.gax() }));
    return subscription.name;
  }

  /** One bounded call: resolves when Pub/Sub answers about the subscription (even "not found"), else `BackendUnreachableError`. */
  async ping(subscription: string): Promise<void> {
    try {
      await this.bounded(() => this.pubsub.subscription(subscription).getMetadata(this.gax()));
    } catch (err) {
      if (err instanceof BackendUnreachableError) throw err;
    }
  }

  /** The redelivery settings of an existing subscription. */
  async redeliveryPolicy(name: string): Promise<RedeliveryPolicy> {
    const [metadata] = await this.bounded(() => this.pubsub.subscription(name).getMetadata(this.gax()));
    const maxDeliveryAttempts = metadata.deadLetterPolicy?.deadLetterTopic ? (metadata.deadLetterPolicy.maxDeliveryAttempts ?? 5) : undefined;
    return { maxDeliveryAttempts, retryPolicy: Boolean(metadata.retryPolicy), ackDeadlineSeconds: metadata.ackDeadlineSeconds || 10 };
  }

  /** Deletes a topic or subscription; a missing one is fine. */
  async deleteQuietly(kind: 'topic' | 'subscription', name: string): Promise<void> {
    const resource = kind === 'topic' ? this.pubsub.topic(name) : this.pubsub.subscription(name);
    try {
      await this.bounded(() => resource.delete(this.gax()));
    } catch (err) {
      if (grpcCode(err) !== GrpcStatus.NOT_FOUND) throw err;
    }
  }

  private gax() {
    return { timeout: this.timeoutMs, maxRetries: 1 };
  }

  private async exists(call: () => Promise<unknown>): Promise<boolean> {
    try {
      await this.bounded(call);
      return true;
    } catch (err) {
      if (grpcCode(err) === GrpcStatus.NOT_FOUND) return false;
      throw err;
    }
  }

  private async createIgnoringRace(call: () => Promise<unknown>): Promise<void> {
    try {
      await this.bounded(call);
    } catch (err) {
      if (grpcCode(err) !== GrpcStatus.ALREADY_EXISTS) throw err; // another replica created it first
    }
  }

  private async bounded<T>(call: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Error(`no answer within ${this.timeoutMs} ms`);
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(timedOut), this.timeoutMs);
    });
    try {
      return await Promise.race([call(), deadline]);
    } catch (err) {
      const code = grpcCode(err);
      if (err === timedOut || code === GrpcStatus.UNAVAILABLE || code === GrpcStatus.DEADLINE_EXCEEDED) {
        throw new BackendUnreachableError(this.transport, `Pub/Sub at ${endpointOf(this.pubsub)}`, err);
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}
