import assert from 'node:assert/strict';
import { RpcException } from '@nestjs/microservices';
import { EMPTY, interval, map, take, timeout } from 'rxjs';
import type { Scenario } from '../scenario.js';
import { collect, errorOf, onMessage, request } from '../rig.js';
import { deferred, delay, errorText, until, withTimeout } from '../util.js';

const sum = (nums: number[]) => nums.reduce((a, b) => a + b, 0);
export const NO_HANDLER = /no matching message handler/i;
export const INTERNAL_ERROR = { status: 'error', message: 'Internal server error' };

export const requestResponse: Scenario[] = [
  {
    id: 'rr.basic',
    title: 'sum of an array',
    needs: ['requestResponse'],
    async run(rig) {
      await rig.server([onMessage(rig.p('sum'), sum)]);
      assert.equal(await request(rig.client(), rig.p('sum'), [1, 2, 3]), rig.wire(6));
    },
  },
  {
    id: 'rr.object-pattern',
    title: '{cmd} object pattern matched whatever the key order',
    needs: ['requestResponse', 'objectPatterns'],
    async run(rig) {
      await rig.server([onMessage({ ns: rig.env.ns, cmd: 'sum' }, sum)]);
      const client = rig.client();
      assert.equal(await request(client, { cmd: 'sum', ns: rig.env.ns }, [1, 2]), rig.wire(3));
      assert.equal(await request(client, { ns: rig.env.ns, cmd: 'sum' }, [3, 4]), rig.wire(7));
    },
  },
  {
    id: 'rr.async',
    title: 'handler returns a Promise',
    needs: ['requestResponse'],
    async run(rig) {
      await rig.server([onMessage(rig.p('sum'), async (nums: number[]) => (await delay(10), sum(nums)))]);
      assert.equal(await request(rig.client(), rig.p('sum'), [4, 5]), rig.wire(9));
    },
  },
  {
    id: 'rr.concurrent',
    title: '500 requests in flight, each answered to its own caller',
    needs: ['requestResponse'],
    timeoutMs: 30_000,
    async run(rig) {
      await rig.server([onMessage(rig.p('double'), async (n: number) => (await delay(n % 7), n * 2))]);
      const client = rig.client();
      await request(client, rig.p('double'), 0);
      const ids = Array.from({ length: 500 }, (_, i) => i + 1);
      const answers = await Promise.all(ids.map((i) => request(client, rig.p('double'), i, 20_000)));
      assert.deepEqual(
        answers,
        ids.map((i) => rig.wire(i * 2)),
      );
    },
  },
  {
    id: 'rr.stream',
    title: "an Observable handler's values arrive in order, then completion",
    needs: ['requestResponse', 'streaming'],
    async run(rig) {
      await rig.server([
        onMessage(rig.p('count'), (n: number) =>
          interval(2).pipe(
            take(n),
            map((i) => i + 1),
          ),
        ),
      ]);
      const values = await collect(rig.client().send(rig.p('count'), 20), 5_000, 'streamed reply');
      assert.deepEqual(
        values,
        Array.from({ length: 20 }, (_, i) => rig.wire(i + 1)),
      );
    },
  },
  {
    id: 'rr.stream-empty',
    title: 'an empty Observable completes the reply with no value',
    needs: ['requestResponse', 'streaming'],
    async run(rig) {
      await rig.server([onMessage(rig.p('none'), () => EMPTY)]);
      assert.deepEqual(await collect(rig.client().send(rig.p('none'), 1), 5_000, 'empty reply'), []);
    },
  },
  {
    id: 'rr.payload-types',
    title: 'strings, numbers, booleans, null, nested objects, arrays, unicode round-trip',
    needs: ['requestResponse'],
    async run(rig) {
      await rig.server([onMessage(rig.p('echo'), (data: unknown) => data)]);
      const client = rig.client();
      const samples: unknown[] = [
        'plain',
        '',
        0,
        -42.5,
        Number.MAX_SAFE_INTEGER,
        true,
        false,
        { nothing: null, nested: { deep: { list: [1, 'two', { three: 3 }] } } },
        [null, 1, 'a', [2, [3]], {}],
        'héllo wörld — 你好 — 🚀👩‍💻 — \u0000\n\t"quotes"\\',
        { ключ: 'значение', emoji: '🎉' },
      ];
      for (const sample of samples) assert.deepEqual(await request(client, rig.p('echo'), sample), rig.wire(sample), `round-trip of ${JSON.stringify(sample)}`);
    },
  },
  {
    id: 'rr.payload-large',
    title: "a payload near the backend's limit",
    needs: ['requestResponse'],
    timeoutMs: 30_000,
    async run(rig) {
      const size = rig.transport.payload?.large ?? 1024 * 1024;
      await rig.server([onMessage(rig.p('length'), (s: string) => ({ length: s.length, tail: s.slice(-8) }))]);
      const body = `${'x'.repeat(size - 8)}12345678`;
      assert.deepEqual(await request(rig.client(), rig.p('length'), body, 20_000), { length: size, tail: '12345678' });
    },
  },
  {
    id: 'rr.payload-too-large',
    title: 'over the limit: a clear error on the client, server unharmed',
    needs: ['requestResponse', 'payloadLimit'],
    notApplicable: (t) => (t.payload?.tooLarge ? undefined : 'the descriptor states no payload limit'),
    timeoutMs: 30_000,
    async run(rig) {
      const { tooLarge, tooLargeError } = rig.transport.payload!;
      await rig.server([onMessage(rig.p('length'), (s: string) => s.length), onMessage(rig.p('sum'), sum)]);
      const client = rig.client();
      const err = await errorOf(client.send(rig.p('length'), 'x'.repeat(tooLarge!)), 10_000, 'oversized request');
      if (tooLargeError) assert.match(errorText(err), tooLargeError);
      assert.equal(await request(rig.client(), rig.p('sum'), [1, 1]), rig.wire(2), 'server serves on');
    },
  },
  {
    id: 'rr.no-handler',
    title: 'Nest\'s "no matching message handler" error',
    needs: ['requestResponse'],
    async run(rig) {
      await rig.server([onMessage(rig.p('sum'), sum)]);
      const client = rig.client();
      const expected = rig.transport.noHandler ?? { behaviour: 'error', message: NO_HANDLER };
      if (expected.behaviour === 'unanswered') {
        const err = await errorOf(client.send(rig.p('missing'), 1).pipe(timeout(1_000)), 5_000, 'request without handler');
        assert.equal(err?.name, 'TimeoutError', `unanswered, so the client's timeout ends it (got ${errorText(err)})`);
      } else {
        const err = await errorOf(client.send(rig.p('missing'), 1), 5_000, 'request without handler');
        assert.match(errorText(err), expected.message);
      }
      assert.equal(await request(client, rig.p('sum'), [2, 2]), rig.wire(4), 'server serves on');
    },
  },
  {
    id: 'rr.rpc-exception',
    title: "the RpcException's error object arrives intact",
    needs: ['requestResponse'],
    async run(rig) {
      const error = { status: 'error', code: 'E_CONFORMANCE', message: 'refused', details: { ids: [1, 2], why: 'ünïcode' } };
      await rig.server([
        onMessage(rig.p('refuse'), () => {
          throw new RpcException(error);
        }),
      ]);
      assert.deepEqual(await errorOf(rig.client().send(rig.p('refuse'), 1), 5_000, 'refused request'), error);
    },
  },
  {
    id: 'rr.unknown-error',
    title: "a plain Error arrives as Nest's internal-error shape, no stack leaks",
    needs: ['requestResponse'],
    async run(rig) {
      await rig.server([
        onMessage(rig.p('crash'), async () => {
          throw new Error('secret-detail-42');
        }),
      ]);
      const err = await errorOf(rig.client().send(rig.p('crash'), 1), 5_000, 'crashing request');
      assert.deepEqual(err, INTERNAL_ERROR);
      assert.doesNotMatch(JSON.stringify(err), /secret-detail-42|\bat \S+:\d+/);
    },
  },
  {
    id: 'rr.timeout',
    title: "the client's timeout fires; the server serves the next request",
    needs: ['requestResponse'],
    async run(rig) {
      const gate = deferred();
      await rig.server([onMessage(rig.p('slow'), () => gate.promise.then(() => 'late')), onMessage(rig.p('sum'), sum)]);
      const client = rig.client();
      try {
        const err = await errorOf(client.send(rig.p('slow'), 1).pipe(timeout(300)), 5_000, 'slow request');
        assert.equal(err?.name, 'TimeoutError');
        assert.equal(await request(client, rig.p('sum'), [5, 5]), rig.wire(10), 'server serves on');
      } finally {
        gate.resolve();
      }
    },
  },
  {
    id: 'rr.unsubscribe',
    title: 'unsubscribing early leaks nothing and a late reply is dropped',
    needs: ['requestResponse'],
    async run(rig) {
      const started = deferred();
      const gate = deferred();
      let finished = 0;
      await rig.server([
        onMessage(rig.p('slow'), async () => {
          started.resolve();
          await gate.promise;
          finished++;
          return 'late';
        }),
        onMessage(rig.p('echo'), (x: unknown) => x),
      ]);
      const client = rig.client();
      await request(client, rig.p('echo'), 'warm');
      const seen: string[] = [];
      const sub = client.send(rig.p('slow'), 1).subscribe({
        next: (v) => seen.push(`next ${v}`),
        error: (e) => seen.push(`error ${errorText(e)}`),
        complete: () => seen.push('complete'),
      });
      try {
        await withTimeout(started.promise, 5_000, 'slow handler started');
        sub.unsubscribe();
        const pending = (client as any).routingMap;
        if (pending instanceof Map) assert.equal(pending.size, 0, 'routing entry removed on unsubscribe');
      } finally {
        gate.resolve();
      }
      // The late reply is on its way now; a later request on the same client gets its own answer.
      for (let i = 0; i < 3; i++) assert.equal(await request(client, rig.p('echo'), `after-${i}`), `after-${i}`);
      await until(() => finished === 1, 2_000, 'slow handler finished');
      assert.deepEqual(seen, [], 'the unsubscribed caller saw nothing');
    },
  },
];
