import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Inject, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type ClientProxy, type CustomTransportStrategy, EventPattern, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { deferred } from '@nest-transports/shared';
import { propagation, context as otelContext } from '@opentelemetry/api';
import { lastValueFrom } from 'rxjs';
import { activeTraceId, byName, describeSpans, idOf, inRootSpan, parentOf, SpanKind, SpanStatusCode, TestSdk, traceOf, tracer } from './sdk.js';

/** What a transport gives the tracing scenarios. */
export interface TracingRig {
  /** `messaging.system` of its spans. */
  system: string;
  /** Destination of a message in span names ("send <destination>"). */
  destination: (pattern: string, request: boolean) => string;
  /** Where the server takes a message from, in span names ("process <source>"). */
  source: (pattern: string, request: boolean) => string;
  /** A fresh server strategy (one per test) and a factory of clients that reach it. */
  start(): Promise<{ strategy: CustomTransportStrategy; client: () => ClientProxy }>;
  /** Sends a Nest event as a producer outside this project would: the packet in the body, `traceparent` in the headers/attributes. */
  foreignEvent(pattern: string, data: unknown, headers: Record<string, string>): Promise<void>;
  /** False for transports without redelivery (ws). */
  redelivers: boolean;
  /** False where the backend tells no delivery attempt of an event (Pub/Sub without a dead-letter policy). */
  attempts: boolean;
  stop(): Promise<void>;
}

const NEXT = Symbol('next hop');

/** What the handlers saw: the trace id of their active span (as a log line would print it). */
const seen = { hop: [] as string[], leaf: [] as string[], flaky: [] as Array<{ trace?: string; attempt: number }>, foreign: [] as Array<string | undefined> };
let flakyDone = deferred();
let foreignDone = deferred();
let baggageSeen: string | undefined;

@Controller()
class TracedController {
  constructor(@Inject(NEXT) private readonly next: ClientProxy) {}

  @MessagePattern('hop')
  async hop(@Payload() data: number) {
    // The user's own span joins the trace, and so does the nested call made inside it.
    return tracer().startActiveSpan('user work', async (span) => {
      seen.hop.push(activeTraceId()!);
      baggageSeen = propagation.getActiveBaggage()?.getEntry('tenant')?.value;
      try {
        return { leaf: await lastValueFrom(this.next.send('leaf', data + 1)) };
      } finally {
        span.end();
      }
    });
  }

  @MessagePattern('leaf')
  leaf(@Payload() data: number) {
    seen.leaf.push(activeTraceId()!);
    return data * 10;
  }

  @MessagePattern('fails')
  fails() {
    throw new RpcException({ status: 'error', message: 'refused on purpose' });
  }

  @EventPattern('flaky')
  flaky(@Payload() _data: unknown) {
    const attempt = seen.flaky.length + 1;
    seen.flaky.push({ trace: activeTraceId(), attempt });
    if (attempt === 1) throw new Error('the first delivery fails');
    flakyDone.resolve();
  }

  @EventPattern('foreign')
  foreign(@Payload() _data: unknown) {
    seen.foreign.push(activeTraceId());
    foreignDone.resolve();
  }
}

/** The tracing scenarios for one transport, on the real OpenTelemetry SDK and the real backend. */
export function describeTracing(title: string, rig: () => Promise<TracingRig | string>): void {
  describe(`tracing: ${title}`, () => {
    const sdk = new TestSdk();
    let bed: TracingRig | undefined;
    let skipped: string | undefined;
    const closers: Array<() => Promise<unknown>> = [];

    beforeAll(async () => {
      await sdk.register();
      const made = await rig();
      if (typeof made === 'string') skipped = made;
      else bed = made;
    });
    afterEach(async () => {
      for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
      sdk.reset();
      seen.hop.length = seen.leaf.length = seen.flaky.length = seen.foreign.length = 0;
      flakyDone = deferred();
      foreignDone = deferred();
    });
    afterAll(async () => {
      await bed?.stop();
      await sdk.unregister();
    });

    async function app() {
      const { strategy, client } = await bed!.start();
      const next = client();
      @Module({ controllers: [TracedController], providers: [{ provide: NEXT, useValue: next }] })
      class TracedModule {}
      const service = await NestFactory.createMicroservice(TracedModule, { strategy, logger: false });
      closers.push(() => next.close());
      closers.push(() => service.close());
      await service.listen();
      const caller = client();
      closers.push(() => caller.close());
      return caller;
    }

    const maybe = (name: string, fn: () => Promise<void>, timeout?: number) =>
      it(
        name,
        async () => {
          if (skipped) return console.warn(`${title}: skipped (${skipped})`);
          await fn();
        },
        timeout,
      );

    maybe('one trace: client → server → nested call → reply, the handler inside the extracted context', async () => {
      const caller = await app();
      const bag = propagation.createBaggage({ tenant: { value: 'acme' } });
      const { result, root } = await inRootSpan('caller', () =>
        otelContext.with(propagation.setBaggage(otelContext.active(), bag), () => lastValueFrom(caller.send('hop', 1))),
      );
      expect(result).toEqual({ leaf: 20 });
      const traceId = root.spanContext().traceId;
      const spans = await sdk.until(
        (s) => s.filter((x) => x.kind === SpanKind.SERVER).length === 2 && s.filter((x) => x.kind === SpanKind.CLIENT).length === 2,
        'both hops',
      );
      const mine = spans.filter((s) => traceOf(s) === traceId);
      expect(describeSpans(mine)).toEqual(describeSpans(spans)); // nothing outside the trace
      // caller → send (CLIENT) → process (SERVER) → user work → send (CLIENT) → process (SERVER)
      const sends = spans.filter((x) => x.kind === SpanKind.CLIENT);
      const processes = spans.filter((x) => x.kind === SpanKind.SERVER);
      expect(sends.map((x) => x.name).sort()).toEqual([`send ${bed!.destination('hop', true)}`, `send ${bed!.destination('leaf', true)}`].sort());
      expect(processes.map((x) => x.name).sort()).toEqual([`process ${bed!.source('hop', true)}`, `process ${bed!.source('leaf', true)}`].sort());
      const outer = sends.find((s) => parentOf(s) === root.spanContext().spanId)!;
      expect(outer).toBeDefined();
      const served = processes.find((s) => parentOf(s) === idOf(outer))!;
      expect(served).toBeDefined();
      const work = byName(spans, 'user work')[0];
      expect(parentOf(work)).toBe(idOf(served));
      const nested = sends.find((s) => parentOf(s) === idOf(work))!;
      expect(nested).toBeDefined();
      const leaf = processes.find((s) => parentOf(s) === idOf(nested))!;
      expect(leaf).toBeDefined();
      expect(seen.hop).toEqual([traceId]);
      expect(seen.leaf).toEqual([traceId]);
      expect(baggageSeen).toBe('acme');
      // Semantic conventions
      expect(outer.attributes).toMatchObject({
        'messaging.system': bed!.system,
        'messaging.operation.type': 'send',
        'messaging.destination.name': bed!.destination('hop', true),
        'nest.pattern': 'hop',
      });
      expect(outer.attributes['messaging.message.conversation_id']).toEqual(expect.any(String));
      expect(served.attributes).toMatchObject({ 'messaging.system': bed!.system, 'messaging.operation.type': 'process', 'nest.pattern': 'hop' });
      if (bed!.redelivers) expect(served.attributes).toMatchObject({ 'nest.outcome': 'ack', 'nest.outcome.reason': 'replied' });
      expect(served.attributes['messaging.message.id']).toEqual(expect.any(String));
      expect(served.status.code).not.toBe(SpanStatusCode.ERROR);
    });

    maybe('a failing handler: both ends record the error', async () => {
      const caller = await app();
      const failure = await inRootSpan('caller', () => lastValueFrom(caller.send('fails', 0)).catch((err: unknown) => err));
      expect(failure.result).toMatchObject({ message: 'refused on purpose' });
      const spans = await sdk.until(
        (s) => byName(s, `process ${bed!.source('fails', true)}`).length === 1 && byName(s, `send ${bed!.destination('fails', true)}`).length === 1,
        'the failed request',
      );
      const [send] = byName(spans, `send ${bed!.destination('fails', true)}`);
      const [served] = byName(spans, `process ${bed!.source('fails', true)}`);
      expect(parentOf(served)).toBe(idOf(send));
      for (const span of [send, served]) {
        expect(span.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'refused on purpose' });
        expect(span.events.map((e) => e.name)).toContain('exception');
      }
    });

    maybe(
      'an event: producer span, then a consumer span per delivery (a redelivery joins the same trace)',
      async () => {
        const caller = await app();
        const { root } = await inRootSpan('caller', () => lastValueFrom(caller.emit('flaky', 1)));
        if (!bed!.redelivers) {
          const spans = await sdk.until((s) => byName(s, `process ${bed!.source('flaky', false)}`).length === 1, 'the event');
          expect(byName(spans, `process ${bed!.source('flaky', false)}`, SpanKind.CONSUMER)[0].status.code).toBe(SpanStatusCode.ERROR);
          return;
        }
        await flakyDone.promise;
        const spans = await sdk.until((s) => byName(s, `process ${bed!.source('flaky', false)}`).length === 2, 'two deliveries');
        const [producer] = byName(spans, `send ${bed!.destination('flaky', false)}`, SpanKind.PRODUCER);
        expect(parentOf(producer)).toBe(root.spanContext().spanId);
        const deliveries = byName(spans, `process ${bed!.source('flaky', false)}`, SpanKind.CONSUMER).sort(
          (a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1],
        );
        expect(deliveries.map((d) => parentOf(d))).toEqual([idOf(producer), idOf(producer)]);
        expect(deliveries[0].attributes).toMatchObject({ 'nest.outcome': 'retry', 'nest.outcome.reason': 'failed' });
        expect(deliveries[0].status.code).toBe(SpanStatusCode.ERROR);
        expect(deliveries[1].attributes).toMatchObject({ 'nest.outcome': 'ack', 'nest.outcome.reason': 'handled' });
        if (bed!.attempts) expect(deliveries.map((d) => d.attributes['nest.delivery_attempt'])).toEqual([1, 2]);
        expect(seen.flaky.map((f) => f.trace)).toEqual([root.spanContext().traceId, root.spanContext().traceId]);
      },
      60_000,
    );

    maybe('a foreign producer that sets traceparent by hand: the handler joins its trace', async () => {
      await app();
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const parent = '00f067aa0ba902b7';
      await bed!.foreignEvent('foreign', { x: 1 }, { traceparent: `00-${traceId}-${parent}-01`, tracestate: 'vendor=1' });
      await foreignDone.promise;
      const spans = await sdk.until((s) => byName(s, `process ${bed!.source('foreign', false)}`).length === 1, 'the foreign event');
      const [served] = byName(spans, `process ${bed!.source('foreign', false)}`);
      expect(traceOf(served)).toBe(traceId);
      expect(parentOf(served)).toBe(parent);
      expect(served.parentSpanContext?.traceState?.get('vendor')).toBe('1');
      expect(seen.foreign).toEqual([traceId]);
    });
  });
}
