import { Duration, type Message, PubSub, type Subscription } from '@google-cloud/pubsub';
import type { EventEmitter } from 'node:events';
import {
  backoffDelay,
  BrokeredServer,
  deferred,
  describeError,
  type Inbound,
  type ManualSettlement,
  type OutgoingReply,
  type PacketMetadata,
  PullLoop,
  type ReleaseReason,
  Renewal,
  sleep,
  TransportError,
  TransportStatus,
  within,
  withServerDefaults,
} from '@nest-transports/shared';
import { endpointOf, PubSubAdmin } from './admin.js';
import { PUBSUB_MAX_MESSAGE_BYTES, PUBSUB_TRANSPORT, PubSubAttributes } from './constants.js';
import { PubSubContext, type PubSubInboundMessage } from './context.js';
import { GrpcStatus, grpcCode } from './errors.js';
import { PUBSUB_DEFAULTS, type PubSubServerOptions, type PubSubSubscriptionSpec, pubSubConfig, resolveServerOptions, subscriptionSpecs } from './options.js';
import { type PubSubPushResult, parsePushRequest } from './push.js';
import { backoffSeconds, DeliveryCounts, deadLetterAdvice, type RedeliveryPolicy } from './redelivery.js';
import { ReplyPublisher } from './replies.js';
import { closeStreamingPull } from './streaming-pull.js';
import { type PulledMessage, UnaryPull } from './unary-pull.js';

/** Events of the underlying subscriptions, for `server.on()`. */
export type PubSubServerEvents = {
  error: (err: Error, subscription: string) => void;
  close: (subscription: string) => void;
  debug: (msg: unknown, subscription: string) => void;
};

/** One subscription the server consumes. */
interface Intake {
  spec: PubSubSubscriptionSpec;
  /** Full subscription name. */
  name: string;
  defaultPattern: string;
  subscription?: Subscription;
  /** Intake "pull": its pull loop. */
  loop?: PullLoop<PulledMessage>;
  /** Read at start; unknown for a push endpoint's subscription (Pub/Sub backs off push deliveries itself). */
  policy?: RedeliveryPolicy;
  reopenAttempt: number;
  reopenTimer?: NodeJS.Timeout;
  /** Its streaming pull was closed by the library and is being reopened, or its pulls fail and are retried. */
  reopening?: boolean;
}

const REOPEN_BACKOFF = { initialDelay: 500, maxDelay: 30_000 };
const PROBE_BACKOFF = { initialDelay: 1_000, maxDelay: 30_000 };
/** Pub/Sub's longest ack deadline: a retry delay beyond it is cut to it. */
const MAX_ACK_DEADLINE_SECONDS = 600;

/**
 * Nest microservice strategy over Google Cloud Pub/Sub, on the shared brokered server: this
 * file is the Pub/Sub intake (streaming pull, a push endpoint), the settle calls (ack, nack)
 * and the subscription checks. Messages are acked only after their handlers succeeded (or a
 * request's replies are published) and nacked on failure, so redelivery and dead-letter
 * policies work.
 */
export class PubSubServer extends BrokeredServer<PubSubInboundMessage, PubSubServerEvents> {
  override transportId = PUBSUB_TRANSPORT;

  private readonly specs: PubSubSubscriptionSpec[];
  private readonly deliveries = new DeliveryCounts();
  private pubsub?: PubSub;
  private ownsClient = false;
  private replies?: ReplyPublisher;
  /** Intake "pull": pulls, acks and deadline changes; the leases of the messages held. */
  private puller?: UnaryPull;
  private readonly leases = new Renewal<Inbound<PubSubInboundMessage>>((held) => this.extendLeases(held));
  /** Intake "pull": resolved once no pull is under way any more (close), so hand-backs reach other servers. */
  private pullsEnded = deferred();
  private intakes: Intake[] = [];
  /** Set while Pub/Sub cannot be reached (a probe failed); the streaming pulls keep retrying meanwhile. */
  private outage?: { since: number; timer?: NodeJS.Timeout; attempt: number };
  private probing = false;

  private readonly options: ReturnType<typeof resolveServerOptions>;

  constructor(options: PubSubServerOptions) {
    const resolved = resolveServerOptions(options);
    super({ ...withServerDefaults('PubSubServer', resolved, PUBSUB_DEFAULTS), messagingSystem: 'gcp_pubsub', maxReplyBytes: PUBSUB_MAX_MESSAGE_BYTES });
    this.options = resolved;
    this.specs = subscriptionSpecs(resolved);
  }

  /** The `PubSub` client. */
  unwrap<T = PubSub>(): T {
    if (!this.pubsub) throw new TransportError('NOT_CONNECTED', 'PubSubServer: not listening. Call listen() (or startAllMicroservices()) first.');
    return this.pubsub as T;
  }

  /** Listens to the subscriptions' `error`, `close` and `debug` events; each callback also gets the subscription name. */
  override on<K extends keyof PubSubServerEvents>(event: K, callback: PubSubServerEvents[K]): void {
    super.on(event, callback);
  }

  /**
   * Processes one push-subscription request body (`{ message, subscription }`), for a push
   * endpoint in an HTTP app: answer with the returned status (2xx acks, 5xx makes Pub/Sub retry).
   * The server must be listening, or `preparePush()` must have been called.
   */
  async handlePush(body: unknown): Promise<PubSubPushResult> {
    this.connectClient();
    const parsed = parsePushRequest(body);
    if ('error' in parsed) return { status: 400, outcome: { action: 'ack', reason: 'malformed', error: parsed.error } };
    const spec = this.specs.find((s) => parsed.subscription.endsWith(`/${shortName(s.name)}`) || s.name === parsed.subscription);
    const intake = this.intakeOf(spec ?? { name: parsed.subscription }, parsed.subscription);
    const outcome = await this.process(this.inbound(parsed.message, intake));
    return { status: outcome.action === 'ack' ? 204 : 500, outcome };
  }

  /** Prepares processing without streaming pull (push-only deployments). */
  preparePush(): void {
    this.connectClient();
  }

  // ---- intake ----

  private connectClient(): PubSub {
    if (this.pubsub) return this.pubsub;
    this.ownsClient = !this.options.client;
    this.pubsub = this.options.client ?? new PubSub(pubSubConfig(this.options.clientConfig));
    this.replies = new ReplyPublisher(this.pubsub, this.options.publishTimeout, this.options.replyPublishOptions);
    this.puller = new UnaryPull(this.pubsub, PUBSUB_DEFAULTS.ackBatchingMs, this.options.connectTimeout);
    return this.pubsub;
  }

  protected async startIntake(): Promise<void> {
    this.connectClient();
    await this.admin().checkCredentials();
    const intakes: Intake[] = [];
    for (const spec of this.specs) {
      const name = await this.admin().ensureSubscription(spec.name, spec.topic ?? this.options.topic, this.autoCreate, spec.create);
      const intake = this.intakeOf(spec, name);
      intake.policy = await this.admin().redeliveryPolicy(name);
      if (intake.policy.maxDeliveryAttempts === undefined) this.logger.warn(deadLetterAdvice(name, intake.policy));
      intakes.push(intake);
    }
    this.intakes = intakes;
    this.pullsEnded = deferred();
    // A held message's deadline is pushed back a third of the shortest ack deadline before it runs out.
    this.leases.setInterval((Math.min(...intakes.map((i) => i.policy?.ackDeadlineSeconds ?? 10)) * 1000) / 3);
    for (const intake of intakes) {
      if (this.pulling) this.startLoop(intake);
      else this.open(intake);
    }
  }

  protected async stopIntake(): Promise<void> {
    clearTimeout(this.outage?.timer);
    this.outage = undefined;
    for (const intake of this.intakes) clearTimeout(intake.reopenTimer);
    await this.stopPulling();
    // The library nacks what it still leases after closeTimeout, and flushes acks.
    await Promise.allSettled(this.intakes.map((intake) => intake.subscription && closeStreamingPull(intake.subscription, this.options.connectTimeout)));
    for (const intake of this.intakes) intake.subscription?.removeAllListeners();
    this.intakes = [];
  }

  private get pulling(): boolean {
    return this.options.intake === 'pull';
  }

  private startLoop(intake: Intake): void {
    const waitMs = this.options.waitTimeSeconds * 1000;
    intake.loop = new PullLoop<PulledMessage>({
      slots: this.slots,
      batchSize: this.options.batchSize,
      receive: (max, signal) => this.pullUnlessAborted(intake, max, waitMs, signal),
      onMessages: (messages) => {
        for (const message of messages) this.accept(this.inbound(message, intake), { holdsSlot: true });
      },
      onError: (err) => {
        this.logs.log('error', `pull:${intake.name}`, () => `Pulling from ${intake.name} failed, retrying: ${describeError(err).message}`);
        this.emitError(err, intake.name);
        intake.reopening = true;
        this.updateStatus();
        const code = grpcCode(err);
        if (code === GrpcStatus.UNAVAILABLE || code === GrpcStatus.DEADLINE_EXCEEDED) void this.probe(intake);
        // Gone (a deletion, a restarted emulator): created again with autoCreate, as when a streaming pull reopens.
        else if (code === GrpcStatus.NOT_FOUND && this.autoCreate) void this.ensureSubscription(intake).catch(noop);
      },
      onHealthy: () => {
        intake.reopening = false;
        if (this.outage) void this.probe(intake);
        else this.updateStatus();
      },
    });
    intake.loop.start();
  }

  /** A pull; aborted (closeTimeout ran out), its messages are handed back once it answers. */
  private async pullUnlessAborted(intake: Intake, max: number, waitMs: number, signal: AbortSignal): Promise<PulledMessage[]> {
    const pulled = this.puller!.pull(intake.name, max, waitMs);
    let onAbort: () => void = noop;
    const aborted = new Promise<PulledMessage[]>((resolve) => {
      onAbort = () => resolve([]);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    const messages = await Promise.race([pulled, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
    if (signal.aborted) {
      void pulled
        .then((late) =>
          late.length > 0
            ? this.puller?.modifyAckDeadline(
                intake.name,
                late.map((m) => m.ackId),
                0,
              )
            : undefined,
        )
        .catch(() => undefined);
    }
    return messages;
  }

  /**
   * Stops the pull loops without cancelling their pulls: Pub/Sub may already have handed a cancelled
   * pull messages that then wait out their ack deadline. What the last pulls get is handed back at
   * once (the server is closing), after the last pull ended. Waits at most `closeTimeout`.
   */
  private async stopPulling(): Promise<void> {
    const loops = this.intakes.flatMap((intake) => intake.loop ?? []);
    try {
      const finished = Promise.all(loops.map((loop) => loop.stop({ abort: false })));
      await within(finished, this.settings.closeTimeout, 'the last pulls').catch(() => Promise.all(loops.map((loop) => loop.stop())));
    } finally {
      this.pullsEnded.resolve();
    }
  }

  /** Keeps held messages of intake "pull" from being redelivered: their ack deadline is pushed back. */
  private async extendLeases(held: Inbound<PubSubInboundMessage>[]): Promise<void> {
    for (const intake of this.intakes) {
      const ackIds = held.filter((inbound) => inbound.source === intake.name).map((inbound) => (inbound.message as PulledMessage).ackId);
      if (ackIds.length === 0) continue;
      await this.puller?.modifyAckDeadline(intake.name, ackIds, intake.policy?.ackDeadlineSeconds ?? 10).catch((err) => {
        this.logs.log(
          'warn',
          `lease:${intake.name}`,
          () => `Extending the ack deadline of ${ackIds.length} messages of ${intake.name} failed: ${describeError(err).message}`,
        );
      });
    }
  }

  private ensureSubscription(intake: Intake): Promise<string> {
    return this.admin().ensureSubscription(intake.spec.name, intake.spec.topic ?? this.options.topic, this.autoCreate, intake.spec.create);
  }

  private get autoCreate() {
    return this.options.autoCreate;
  }

  private admin() {
    return new PubSubAdmin(this.pubsub!, 'PubSubServer', this.options.connectTimeout);
  }

  private intakeOf(spec: PubSubSubscriptionSpec, name: string): Intake {
    return { spec, name, defaultPattern: spec.defaultPattern ?? this.options.defaultPattern ?? shortName(spec.name), reopenAttempt: 0 };
  }

  private open(intake: Intake): void {
    const maxMessages = this.options.flowControl?.maxMessages ?? 2 * this.settings.maxConcurrency;
    const subscription = this.pubsub!.subscription(intake.name, {
      ...this.options.subscriberOptions,
      // The library frees a flow-control slot only once its ack batch is flushed (default: up to
      // 100 ms): a short window keeps `maxConcurrency` handlers busy instead of ~1k msg/s at most.
      batching: { maxMilliseconds: PUBSUB_DEFAULTS.ackBatchingMs, ...this.options.subscriberOptions?.batching },
      flowControl: { ...PUBSUB_DEFAULTS.flowControl, ...this.options.flowControl, maxMessages, allowExcessMessages: false },
      // On close: stop pulling, let dispatched messages finish (acks flushed), nack the rest.
      closeOptions: { behavior: 'WAIT', timeout: Duration.from({ milliseconds: this.settings.closeTimeout }) },
    });
    intake.subscription = subscription;
    subscription.on('error', (err: Error) => {
      if (this.closing) return;
      this.logger.error(`Subscription ${intake.name} failed: ${describeError(err).message}`);
    });
    subscription.on('close', () => this.onIntakeClosed(intake, subscription));
    const emitter = subscription as unknown as EventEmitter;
    for (const event of ['error', 'close', 'debug'] as const) emitter.on(event, (...args: unknown[]) => this.events.emit(event, ...args, intake.name));
    // The library retries a streaming pull that ends with a retryable status (UNAVAILABLE during an outage), saying so only in 'debug'.
    subscription.on('debug', (msg: { error?: unknown }) => {
      const code = grpcCode(msg?.error);
      if (code === GrpcStatus.UNAVAILABLE || code === GrpcStatus.DEADLINE_EXCEEDED) void this.probe(intake);
    });
    subscription.on('message', (message: Message) => this.accept(this.inbound(message, intake)));
  }

  /**
   * A streaming pull ended and the library retries it: Pub/Sub may be unreachable, or it merely
   * closed the stream. A bounded call tells: while it fails, the status is `reconnecting` (logged
   * once), and it is retried with backoff until Pub/Sub answers again.
   */
  private async probe(intake: Intake): Promise<void> {
    if (this.probing || this.closing || !this.pubsub) return;
    this.probing = true;
    try {
      await this.admin().ping(intake.name);
      if (this.outage) {
        this.logger.log(`Pub/Sub at ${endpointOf(this.pubsub)} answers again after ${Math.round((Date.now() - this.outage.since) / 1000)} s`);
        // The retry a failed probe scheduled is not needed any more (a pull that succeeded again probes at once).
        clearTimeout(this.outage.timer);
        this.outage = undefined;
      }
      this.updateStatus();
    } catch (err) {
      if (this.closing) return;
      if (!this.outage) {
        this.outage = { since: Date.now(), attempt: 0 };
        this.logger.warn(
          `Pub/Sub cannot be reached (${describeError(err).message}); status "reconnecting" until it answers, the subscriptions retry meanwhile and publishing fails`,
        );
      }
      const outage = this.outage;
      clearTimeout(outage.timer);
      outage.timer = setTimeout(() => void this.probe(intake), backoffDelay(outage.attempt++, PROBE_BACKOFF));
      this.updateStatus();
    } finally {
      this.probing = false;
    }
  }

  /** `connected` when Pub/Sub answers and every subscription is open; else `reconnecting`. */
  private updateStatus(): void {
    if (this.closing) return;
    const healthy = !this.outage && this.intakes.every((intake) => !intake.reopening);
    this._status$.next(healthy ? TransportStatus.CONNECTED : TransportStatus.RECONNECTING);
  }

  /** The library gives up on a stream after a non-retryable error: reopen with backoff. */
  private onIntakeClosed(intake: Intake, subscription: Subscription): void {
    if (this.closing || intake.subscription !== subscription) return;
    intake.reopening = true;
    this.updateStatus();
    const delay = backoffDelay(intake.reopenAttempt++, REOPEN_BACKOFF);
    this.logger.warn(`Subscription ${intake.name} closed; reopening in ${delay} ms`);
    intake.reopenTimer = setTimeout(() => void this.reopen(intake, subscription), delay);
  }

  private async reopen(intake: Intake, previous: Subscription): Promise<void> {
    if (this.closing) return;
    try {
      await this.ensureSubscription(intake);
      if (this.closing) return; // close() began meanwhile: a new streaming pull would outlive it
      previous.removeAllListeners();
      this.open(intake);
      intake.reopenAttempt = 0;
      intake.reopening = false;
      this.updateStatus();
    } catch (err) {
      this.logger.error(`Reopening ${intake.name} failed: ${describeError(err).message}`);
      this.onIntakeClosed(intake, previous);
    }
  }

  private inbound(message: PubSubInboundMessage, intake: Intake): Inbound<PubSubInboundMessage> {
    // Pub/Sub counts deliveries only for subscriptions with a dead-letter policy; else this server counts its own.
    const counted = !message.deliveryAttempt && intake.policy !== undefined;
    return {
      message,
      messageId: message.id,
      source: intake.name,
      body: message.data,
      attributes: message.attributes ?? {},
      key: message.orderingKey || undefined,
      attempt: message.deliveryAttempt || (counted ? this.deliveries.next(message.id) : undefined),
      defaultPattern: intake.defaultPattern,
    };
  }

  /** Health details: each subscription still exists (Pub/Sub tells its backlog only through Cloud Monitoring). */
  protected override async healthDetails(): Promise<Record<string, unknown>> {
    const admin = this.admin();
    await Promise.all(this.intakes.map((intake) => admin.ensureSubscription(intake.name, undefined, false)));
    return { subscriptions: this.intakes.map((i) => i.name) };
  }

  /** Spans name the subscription by its short name. */
  protected override traceSource(inbound: Inbound<PubSubInboundMessage>): string {
    return inbound.source.slice(inbound.source.lastIndexOf('/') + 1);
  }

  private policyOf(inbound: Inbound<PubSubInboundMessage>): RedeliveryPolicy | undefined {
    return this.intakes.find((intake) => intake.name === inbound.source)?.policy;
  }

  /** Without a dead-letter or retry policy nothing else spaces the redeliveries of a failing message: it is held 1 s, 2 s, 4 s… before its nack. */
  protected override defaultRetryDelay(inbound: Inbound<PubSubInboundMessage>): number | undefined {
    const policy = this.policyOf(inbound);
    if (!policy || policy.maxDeliveryAttempts !== undefined || policy.retryPolicy) return undefined;
    return backoffSeconds(inbound.attempt ?? 1);
  }

  protected override describeRetry(inbound: Inbound<PubSubInboundMessage>, delaySeconds: number | undefined): string {
    const policy = this.policyOf(inbound);
    const when = delaySeconds ? `it is nacked and redelivered in ${delaySeconds} s` : 'it is nacked for redelivery';
    if (policy?.maxDeliveryAttempts !== undefined) {
      return `${when}; the subscription's dead-letter policy takes it after ${policy.maxDeliveryAttempts} delivery attempts`;
    }
    if (policy) return `${when} (the subscription has no dead-letter policy: it comes back until handled or its retention ends)`;
    return `${when} (the push subscription's retry and dead-letter policies decide what follows)`;
  }

  protected createContext(inbound: Inbound<PubSubInboundMessage>, route: string, metadata: PacketMetadata | undefined, settlement?: ManualSettlement) {
    return new PubSubContext([inbound.message, inbound.source, route, metadata, settlement]);
  }

  // ---- settle (the pull intakes only: a push endpoint answers with an HTTP status) ----

  /** Intake "pull": the ack deadline is kept pushed back while the server holds the message. */
  protected override lease(inbound: Inbound<PubSubInboundMessage>): (() => void) | undefined {
    return this.pulling ? this.leases.keep(inbound) : undefined;
  }

  protected async ack(inbound: Inbound<PubSubInboundMessage>): Promise<void> {
    this.deliveries.forget(inbound.messageId);
    if (this.pulling) await this.puller!.ack(inbound.source, (inbound.message as PulledMessage).ackId);
    else await (inbound.message as Message).ackWithResponse();
  }

  /**
   * Redelivered after `delaySeconds`, or at once. Streaming pull: the lease is kept meanwhile and the
   * message nacked at the end (at once when the server closes); pull: its ack deadline is set to it.
   */
  protected async retry(inbound: Inbound<PubSubInboundMessage>, delaySeconds: number | undefined): Promise<void> {
    if (this.pulling) return this.handBack(inbound, delaySeconds ?? 0);
    if (delaySeconds) await sleep(delaySeconds * 1000, this.closingSignal);
    await (inbound.message as Message).nackWithResponse();
  }

  protected async release(inbound: Inbound<PubSubInboundMessage>, reason: ReleaseReason): Promise<void> {
    if (!this.pulling) return void (await (inbound.message as Message).nackWithResponse());
    // Handed back while a pull of this server is open, a message could go to it and wait there until the pull answers.
    if (reason === 'closing') await this.pullsEnded.promise;
    // Behind a failed message of its ordering key: it comes back with it, as late as it does.
    await this.handBack(inbound, reason === 'order' ? (this.retryDelay(inbound) ?? 0) : 0);
  }

  private handBack(inbound: Inbound<PubSubInboundMessage>, delaySeconds: number): Promise<void> {
    const seconds = Math.min(MAX_ACK_DEADLINE_SECONDS, delaySeconds);
    return this.puller!.modifyAckDeadline(inbound.source, [(inbound.message as PulledMessage).ackId], seconds);
  }

  // ---- replies ----

  protected override encode(value: unknown): Buffer {
    const encoded = this.settings.codec.encode(value);
    return typeof encoded === 'string' ? Buffer.from(encoded) : encoded;
  }

  protected async sendReply(_inbound: Inbound<PubSubInboundMessage>, replyTo: string, reply: OutgoingReply): Promise<void> {
    try {
      await this.replies!.publish(replyTo, reply.body as Buffer, { [PubSubAttributes.ID]: reply.id, [PubSubAttributes.SEQ]: String(reply.seq) });
    } catch (err) {
      if (grpcCode(err) !== GrpcStatus.NOT_FOUND) throw err;
      // The client closed and deleted its reply topic: nobody waits for this reply.
      this.logs.log('warn', `gone:${replyTo}`, () => `Reply to ${replyTo} dropped: the topic no longer exists (its client has closed)`);
    }
  }

  protected override async flush(): Promise<void> {
    await Promise.all([this.replies?.flush(), this.puller?.flush()]);
  }

  protected override async releaseResources(): Promise<void> {
    const pubsub = this.pubsub;
    this.pubsub = undefined;
    this.replies = undefined;
    this.puller = undefined;
    this.leases.stop();
    if (this.ownsClient) await pubsub?.close().catch(() => undefined);
  }
}

const shortName = (name: string) => name.split('/').pop() ?? name;
const noop = () => undefined;
