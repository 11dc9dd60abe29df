import assert from 'node:assert/strict';
import { RpcException } from '@nestjs/microservices';
import { ValidationPipe } from '@nestjs/common';
import { IsArray, IsInt, IsString } from 'class-validator';
import type { Scenario } from '../scenario.js';
import { errorOf, onMessage, request } from '../rig.js';
import { errorText } from '../util.js';

export class SumCommand {
  @IsString()
  label!: string;

  @IsArray()
  @IsInt({ each: true })
  numbers!: number[];
}

/** What users do to send validation errors over a transport: an RpcException from the pipe. */
export const rpcValidationPipe = () =>
  new ValidationPipe({
    exceptionFactory: (errors) => new RpcException({ status: 'error', message: 'Validation failed', fields: errors.map((e) => e.property).sort() }),
  });

export const context: Scenario[] = [
  {
    id: 'ctx.type',
    title: "@Ctx() is the transport's context with its documented getters",
    needs: ['requestResponse'],
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
      assert.equal(await request(rig.client(), pattern, 1), 'ok');
    },
  },
  {
    id: 'ctx.metadata',
    title: 'packet metadata / headers round-trip',
    needs: ['requestResponse', 'metadata'],
    notApplicable: (t) => (t.metadata ? undefined : 'the descriptor gives no metadata hooks'),
    async run(rig) {
      const { send, read } = rig.transport.metadata!;
      const headers = { 'x-trace-id': `trace-${rig.env.ns}`, 'x-tenant': 'acme' };
      await rig.server([onMessage(rig.p('headers'), (_: unknown, ctx: unknown) => read(ctx) ?? null)]);
      const client = rig.client();
      const got = (await request(client, rig.p('headers'), send(client, { hello: 1 }, headers))) as Record<string, string>;
      assert.ok(got, 'the handler saw metadata');
      for (const [key, value] of Object.entries(headers)) assert.equal(got[key], value, `header ${key}`);
    },
  },
  {
    id: 'pipe.validation',
    title: 'a ValidationPipe rejects a bad payload and the client gets the validation error',
    needs: ['requestResponse'],
    async run(rig) {
      await rig.server([
        onMessage(rig.p('sum'), (cmd: SumCommand) => `${cmd.label}=${cmd.numbers.reduce((a, b) => a + b, 0)}`, {
          payloadType: SumCommand,
          pipes: [rpcValidationPipe()],
        }),
      ]);
      const client = rig.client();
      assert.equal(await request(client, rig.p('sum'), { label: 'total', numbers: [1, 2] }), 'total=3');
      const err = await errorOf(client.send(rig.p('sum'), { label: 5, numbers: ['x'] }), 5_000, 'invalid request');
      assert.deepEqual(err, { status: 'error', message: 'Validation failed', fields: ['label', 'numbers'] });
    },
  },
];
