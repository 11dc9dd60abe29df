import assert from 'node:assert/strict';
import { lastValueFrom, type Observable } from 'rxjs';
import type { Scenario } from '../scenario.js';
import { onEvent } from '../rig.js';
import { until, withTimeout } from '../util.js';

/** Waits until the emit is handed to the transport (emit is hot; its Observable completes once sent). */
export const sent = (emit$: Observable<unknown>) => withTimeout(lastValueFrom(emit$, { defaultValue: undefined }), 5_000, 'emit');

export const events: Scenario[] = [
  {
    id: 'ev.basic',
    title: 'an event reaches its handler',
    needs: ['events'],
    async run(rig) {
      const got: unknown[] = [];
      await rig.server([onEvent(rig.p('created'), (d: unknown) => void got.push(d))]);
      await sent(rig.client().emit(rig.p('created'), { id: 1, name: 'ünï' }));
      await until(() => got.length >= 1, 5_000, 'event handled');
      assert.deepEqual(got, [{ id: 1, name: 'ünï' }]);
    },
  },
  {
    id: 'ev.multi-handler',
    title: 'every @EventPattern handler for a pattern runs',
    needs: ['events'],
    async run(rig) {
      const got: string[] = [];
      await rig.server([
        onEvent(rig.p('created'), (d: number) => void got.push(`a${d}`)),
        onEvent(rig.p('created'), async (d: number) => void got.push(`b${d}`)),
      ]);
      await sent(rig.client().emit(rig.p('created'), 7));
      await until(() => got.length >= 2, 5_000, 'both handlers ran');
      assert.deepEqual([...got].sort(), ['a7', 'b7']);
    },
  },
  {
    id: 'ev.no-handler',
    title: 'an event without handler: the server survives and serves on',
    needs: ['events'],
    async run(rig) {
      const got: unknown[] = [];
      await rig.server([onEvent(rig.p('known'), (d: unknown) => void got.push(d))]);
      const client = rig.client();
      await sent(client.emit(rig.p('unknown'), 1));
      await sent(client.emit(rig.p('known'), 2));
      await until(() => got.length >= 1, 5_000, 'next event handled');
      assert.deepEqual(got, [rig.wire(2)]);
    },
  },
  {
    id: 'ev.handler-throws',
    title: 'a throwing event handler: the server survives',
    needs: ['events'],
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
      const client = rig.client();
      await sent(client.emit(rig.p('sync'), 1));
      await sent(client.emit(rig.p('async'), 2));
      await sent(client.emit(rig.p('ok'), 3));
      await until(() => got.length >= 1, 5_000, 'event after failures handled');
      assert.deepEqual(got, [rig.wire(3)]);
    },
  },
  {
    id: 'ev.order',
    title: 'events from one connected client arrive in order',
    needs: ['events', 'orderedEvents'],
    async run(rig) {
      const got: number[] = [];
      const count = 300;
      await rig.server([onEvent(rig.p('seq'), (n: number) => void got.push(n))]);
      const client = rig.client();
      await withTimeout(client.connect(), 5_000, 'client connect');
      await Promise.all(Array.from({ length: count }, (_, i) => sent(client.emit(rig.p('seq'), i))));
      await until(
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
    async run(rig) {
      const byServer: number[][] = [[], []];
      for (const seen of byServer) await rig.server([onEvent(rig.p('job'), (n: number) => void seen.push(n))]);
      const client = rig.client();
      const count = 100;
      await Promise.all(Array.from({ length: count }, (_, i) => sent(client.emit(rig.p('job'), i))));
      await until(() => byServer[0].length + byServer[1].length >= count, 10_000, 'all events handled');
      await rig.settle();
      const all = [...byServer[0], ...byServer[1]].sort((a, b) => a - b);
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
    async run(rig) {
      const byServer: number[][] = [[], []];
      for (const seen of byServer) await rig.server([onEvent(rig.p('news'), (n: number) => void seen.push(n))]);
      const client = rig.client();
      const count = 20;
      for (let i = 0; i < count; i++) await sent(client.emit(rig.p('news'), i));
      await until(() => byServer.every((s) => s.length >= count), 10_000, 'every server got every event');
      await rig.settle();
      for (const seen of byServer)
        assert.deepEqual(
          [...seen].sort((a, b) => a - b),
          Array.from({ length: count }, (_, i) => rig.wire(i)),
        );
    },
  },
];
