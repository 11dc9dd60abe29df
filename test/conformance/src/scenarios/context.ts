import assert from 'node:assert/strict';
import { ValidationPipe, type Type } from '@nestjs/common';
import { RpcException, Server } from '@nestjs/microservices';
import type { Scenario } from '../scenario.js';
import { onEvent, onMessage, serverInstance } from '../rig.js';
import { errorText } from '../util.js';

/** What users do to send validation errors over a transport: an RpcException from the pipe. */
export const rpcValidationPipe = () =>
  new ValidationPipe({
    exceptionFactory: (errors) => new RpcException({ status: 'error', message: 'Validation failed', fields: errors.map((e) => e.property).sort() }),
  });

/**
 * `{ label: string; numbers: int[] }` decorated with class-validator, which is an optional package:
 * imported only when the scenario runs.
 */
async function sumCommand(): Promise<Type<{ label: string; numbers: number[] }>> {
  const { IsArray, IsInt, IsString } = await import('class-validator');
  class SumCommand {
    label!: string;
    numbers!: number[];
  }
  IsString()(SumCommand.prototype, 'label');
  IsArray()(SumCommand.prototype, 'numbers');
  IsInt({ each: true })(SumCommand.prototype, 'numbers');
  return SumCommand;
}

export const context: Scenario[] = [
  {
    id: 'ctx.type',
    title: "@Ctx() is the transport's context with its documented getters",
    needs: ['requestResponse'],
    patterns: { messages: ['whoami'] },
    sends: '`whoami` ← `1`',
    asserts: 'the descriptor’s `checkContext(ctx, pattern)` accepts the handler’s `@Ctx()` (the handler replies "ok" or what the check threw)',
    notApplicable: (t) => (t.checkContext ? undefined : 'the descriptor gives no checkContext'),
    async run(rig) {
      const pattern = rig.p('whoami');
      await rig.server([
        onMessage(pattern, (_: unknown, ctx: unknown) => {
          try {
            rig.transport.checkContext!(ctx, pattern);
            return 'ok';
          } catch (err) {
            return `context check failed: ${errorText(err)}`;
          }
        }),
      ]);
      assert.equal(await rig.request(await rig.client(), pattern, 1), 'ok');
    },
  },
  {
    id: 'ctx.metadata',
    title: 'packet metadata / headers round-trip',
    needs: ['requestResponse', 'metadata'],
    patterns: { messages: ['headers'] },
    sends: '`headers` ← `metadata.send(client, { hello: 1 }, { "x-trace-id": …, "x-tenant": "acme" })`',
    asserts: 'the handler’s `metadata.read(ctx)` has both headers with their values',
    notApplicable: (t) => (t.metadata ? undefined : 'the descriptor gives no metadata hooks'),
    async run(rig) {
      const { send, read } = rig.transport.metadata!;
      const headers = { 'x-trace-id': `trace-${rig.env.ns}`, 'x-tenant': 'acme' };
      await rig.server([onMessage(rig.p('headers'), (_: unknown, ctx: unknown) => read(ctx) ?? null)]);
      const client = await rig.client();
      const got = (await rig.request(client, rig.p('headers'), send(client, { hello: 1 }, headers))) as Record<string, string>;
      assert.ok(got, 'the handler saw metadata');
      for (const [key, value] of Object.entries(headers)) assert.equal(got[key], value, `header ${key}`);
    },
  },
  {
    id: 'ctx.processing-hooks',
    title: "Nest's processing hooks run around every request and every event",
    needs: ['requestResponse', 'events'],
    patterns: { messages: ['hooked'], events: ['hooked-event'] },
    sends:
      '`hooked` ← `1`, then `emit("hooked-event", 2)`, to a server whose `setOnProcessingStartHook` / `setOnProcessingEndHook` (Nest 12; what tracing and metrics integrations attach to) record what they see',
    asserts: 'for the request and for the event: the start hook ran, then the handler inside it, then the end hook, each hook with the handler’s `@Ctx()`',
    notApplicable: () =>
      typeof (Server.prototype as { setOnProcessingStartHook?: unknown }).setOnProcessingStartHook === 'function'
        ? undefined
        : 'Nest 11 has no processing hooks',
    async run(rig) {
      const seen: Array<{ step: string; ctx: unknown }> = [];
      const app = await rig.createServer([
        onMessage(rig.p('hooked'), (_: unknown, ctx: unknown) => {
          seen.push({ step: 'request handler', ctx });
          return 'ok';
        }),
        onEvent(rig.p('hooked-event'), (_: unknown, ctx: unknown) => void seen.push({ step: 'event handler', ctx })),
      ]);
      const server = serverInstance(app);
      server.setOnProcessingStartHook((_id: unknown, ctx: unknown, done: () => Promise<unknown>) => {
        seen.push({ step: 'start', ctx });
        return done();
      });
      server.setOnProcessingEndHook((_id: unknown, ctx: unknown) => void seen.push({ step: 'end', ctx }));
      await rig.listen(app);
      const client = await rig.client();
      assert.equal(await rig.request(client, rig.p('hooked'), 1), 'ok');
      await rig.until(
        () => seen.length >= 3,
        5_000,
        () => `the request's end hook (saw ${seen.map((s) => s.step).join(', ') || 'nothing'})`,
      );
      await rig.sent(client.emit(rig.p('hooked-event'), 2));
      await rig.until(
        () => seen.length >= 6,
        10_000,
        () => `the event's hooks and handler (saw ${seen.map((s) => s.step).join(', ')})`,
      );
      assert.deepEqual(
        seen.map((s) => s.step),
        ['start', 'request handler', 'end', 'start', 'event handler', 'end'],
      );
      for (const [from, to] of [
        [0, 3],
        [3, 6],
      ]) {
        const [start, handler, end] = seen.slice(from, to);
        assert.ok(start.ctx === handler.ctx && end.ctx === handler.ctx, `the hooks of the ${handler.step.split(' ')[0]} got the handler's @Ctx()`);
      }
    },
  },
  {
    id: 'pipe.validation',
    title: 'a ValidationPipe rejects a bad payload and the client gets the validation error',
    needs: ['requestResponse'],
    patterns: { messages: ['sum'] },
    requires: ['class-validator', 'class-transformer'],
    sends:
      '`sum` ← `{ label: "total", numbers: [1, 2] }`, then `{ label: 5, numbers: ["x"] }`, to a handler with a `ValidationPipe` whose exceptionFactory throws an RpcException',
    asserts: 'the first is answered `"total=3"`; the second fails with `{ status: "error", message: "Validation failed", fields: ["label", "numbers"] }`',
    async run(rig) {
      const SumCommand = await sumCommand();
      await rig.server([
        onMessage(rig.p('sum'), (cmd: { label: string; numbers: number[] }) => `${cmd.label}=${cmd.numbers.reduce((a, b) => a + b, 0)}`, {
          payloadType: SumCommand,
          pipes: [rpcValidationPipe()],
        }),
      ]);
      const client = await rig.client();
      assert.equal(await rig.request(client, rig.p('sum'), { label: 'total', numbers: [1, 2] }, 5_000, 'the valid request'), 'total=3');
      const err = await rig.errorOf(client.send(rig.p('sum'), { label: 5, numbers: ['x'] }), 5_000, 'the invalid request');
      assert.deepEqual(err, { status: 'error', message: 'Validation failed', fields: ['label', 'numbers'] });
    },
  },
];
