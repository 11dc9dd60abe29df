import assert from 'node:assert/strict';
import type { Scenario } from '../scenario.js';
import { onEvent } from '../rig.js';
import { show, withTimeout } from '../util.js';

/** `values` for a failure message: how many, and the first few. */
export const arrived = (values: unknown[]) => (values.length ? `${values.length} arrived: ${show(values.slice(0, 10), 200)}` : 'nothing arrived');

export const events: Scenario[] = [
  {
    id: 'ev.basic',
    title: 'an event reaches its handler',
    needs: ['events'],
    patterns: { events: ['created'] },
    sends: '`emit("created", { id: 1, name: "ünï" })`',
    asserts: 'the `@EventPattern` handler gets that payload, once',
    async run(rig) {
      const got: unknown[] = [];
      await rig.server([onEvent(rig.p('created'), (d: unknown) => void got.push(d))]);
      await rig.sent((await rig.client()).emit(rig.p('created'), { id: 1, name: 'ünï' }));
      await rig.until(
        () => got.length >= 1,
        5_000,
        () => `event handled (${arrived(got)})`,
      );
      assert.deepEqual(got, [{ id: 1, name: 'ünï' }]);
    },
  },
  {
    id: 'ev.multi-handler',
    title: 'every @EventPattern handler for a pattern runs',
    needs: ['events'],
    patterns: { events: ['created'] },
    sends: '`emit("created", 7)` to a server with two handlers for `created` (one sync, one async)',
    asserts: 'both handlers run, once each',
    async run(rig) {
      const got: string[] = [];
      await rig.server([
        onEvent(rig.p('created'), (d: number) => void got.push(`a${d}`)),
        onEvent(rig.p('created'), async (d: number) => void got.push(`b${d}`)),
      ]);
      await rig.sent((await rig.client()).emit(rig.p('created'), 7));
      await rig.until(
        () => got.length >= 2,
        5_000,
        () => `both handlers ran (${arrived(got)})`,
      );
      assert.deepEqual([...got].sort(), [`a${rig.wire(7)}`, `b${rig.wire(7)}`]);
    },
  },
  {
    id: 'ev.no-handler',
    title: 'an event without handler: the server survives and serves on',
    needs: ['events'],
    patterns: { events: ['known', 'unknown'] },
    sends: '`emit("unknown", 1)` (no handler), then `emit("known", 2)`',
    asserts: 'the `known` handler gets `2`',
    async run(rig) {
      const got: unknown[] = [];
      await rig.server([onEvent(rig.p('known'), (d: unknown) => void got.push(d))]);
      const client = await rig.client();
      await rig.sent(client.emit(rig.p('unknown'), 1), 'emit to a pattern without handler');
      await rig.sent(client.emit(rig.p('known'), 2));
      await rig.until(
        () => got.length >= 1,
        5_000,
        () => `next event handled (${arrived(got)})`,
      );
      assert.deepEqual(got, [rig.wire(2)]);
    },
  },
  {
    id: 'ev.handler-throws',
    title: 'a throwing event handler: the server survives',
    needs: ['events'],
    patterns: { events: ['sync', 'async', 'ok'] },
    sends: '`emit("sync", 1)` (the handler throws), `emit("async", 2)` (it rejects), then `emit("ok", 3)`',
    asserts: 'the `ok` handler gets `3`; nothing escapes as an unhandled error',
    async run(rig) {
      const got: unknown[] = [];
      await rig.server([
        onEvent(rig.p('sync'), () => {
          throw new Error('sync failure');
        }),
        onEvent(rig.p('async'), async () => {
          throw new Error('async failure');
        }),
        onEvent(rig.p('ok'), (d: unknown) => void got.push(d)),
      ]);
      const client = await rig.client();
      await rig.sent(client.emit(rig.p('sync'), 1));
      await rig.sent(client.emit(rig.p('async'), 2));
      await rig.sent(client.emit(rig.p('ok'), 3));
      await rig.until(
        () => got.length >= 1,
        5_000,
        () => `event after failures handled (${arrived(got)})`,
      );
      assert.deepEqual(got, [rig.wire(3)]);
    },
  },
  {
    id: 'ev.order',
    title: 'events from one connected client arrive in order',
    needs: ['events', 'orderedEvents'],
    patterns: { events: ['seq'] },
    sends: 'after `connect()`, 300 `emit("seq", i)` at once (not awaited one by one), `i = 0…299`',
    asserts: 'the handler sees `0…299` in that order',
    async run(rig) {
      const got: number[] = [];
      const count = 300;
      await rig.server([onEvent(rig.p('seq'), (n: number) => void got.push(n))]);
      const client = await rig.client();
      await withTimeout(client.connect(), rig.ms(5_000), 'client connect');
      await Promise.all(Array.from({ length: count }, (_, i) => rig.sent(client.emit(rig.p('seq'), i))));
      await rig.until(
        () => got.length >= count,
        10_000,
        () => `${count} events handled (got ${got.length})`,
      );
      const firstOutOfOrder = got.findIndex((n, i) => n !== rig.wire(i));
      assert.equal(firstOutOfOrder, -1, `out of order from index ${firstOutOfOrder}: ${got.slice(Math.max(0, firstOutOfOrder - 2), firstOutOfOrder + 8)}`);
    },
  },
  {
    id: 'ev.competing-consumers',
    title: 'two servers share the load, each event handled once',
    needs: ['events', 'competingConsumers'],
    patterns: { events: ['job'] },
    sends: 'two servers with a `job` handler; 100 `emit("job", i)`',
    asserts: 'every event is handled exactly once (250 ms of quiet after the last), and each server handled at least one',
    async run(rig) {
      const byServer: number[][] = [[], []];
      for (const seen of byServer) await rig.server([onEvent(rig.p('job'), (n: number) => void seen.push(n))]);
      const client = await rig.client();
      const count = 100;
      await Promise.all(Array.from({ length: count }, (_, i) => rig.sent(client.emit(rig.p('job'), i))));
      await rig.until(
        () => byServer[0].length + byServer[1].length >= count,
        10_000,
        () => `all events handled (${byServer[0].length} + ${byServer[1].length} of ${count})`,
      );
      await rig.settle();
      const all = [...byServer[0], ...byServer[1]].sort((a, b) => Number(a) - Number(b));
      assert.deepEqual(
        all,
        Array.from({ length: count }, (_, i) => rig.wire(i)),
        'each event handled exactly once',
      );
      assert.ok(byServer[0].length > 0 && byServer[1].length > 0, `both servers took work (${byServer[0].length}/${byServer[1].length})`);
    },
  },
  {
    id: 'ev.fan-out',
    title: 'two servers on one pattern each handle every event (pub/sub)',
    needs: ['events', 'fanOut'],
    patterns: { events: ['news'] },
    sends: 'two servers with a `news` handler; 20 `emit("news", i)`, awaited one by one',
    asserts: 'each server handles all 20, once each',
    async run(rig) {
      const byServer: number[][] = [[], []];
      for (const seen of byServer) await rig.server([onEvent(rig.p('news'), (n: number) => void seen.push(n))]);
      const client = await rig.client();
      const count = 20;
      for (let i = 0; i < count; i++) await rig.sent(client.emit(rig.p('news'), i));
      await rig.until(
        () => byServer.every((s) => s.length >= count),
        10_000,
        () => `every server got every event (${byServer[0].length} and ${byServer[1].length} of ${count})`,
      );
      await rig.settle();
      for (const [k, seen] of byServer.entries())
        assert.deepEqual(
          [...seen].sort((a, b) => Number(a) - Number(b)),
          Array.from({ length: count }, (_, i) => rig.wire(i)),
          `server ${k + 1} handled each event once`,
        );
    },
  },
];
