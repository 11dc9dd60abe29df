import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { RpcException } from '@nestjs/microservices';
import { EMPTY, interval, lastValueFrom, map, Subject, take, takeUntil, timeout } from 'rxjs';
import type { Scenario } from '../scenario.js';
import { onMessage } from '../rig.js';
import { deferred, delay, errorText, show, withTimeout } from '../util.js';

const sum = (nums: number[]) => nums.reduce((a, b) => a + b, 0);
export const NO_HANDLER = /no matching message handler/i;
export const INTERNAL_ERROR = { status: 'error', message: 'Internal server error' };

export const requestResponse: Scenario[] = [
  {
    id: 'rr.basic',
    title: 'sum of an array',
    needs: ['requestResponse'],
    patterns: { messages: ['sum'] },
    sends: '`sum` ← `[1, 2, 3]`',
    asserts: 'the reply is `6` (after `wire`)',
    async run(rig) {
      await rig.server([onMessage(rig.p('sum'), sum)]);
      assert.equal(await rig.request(await rig.client(), rig.p('sum'), [1, 2, 3]), rig.wire(6));
    },
  },
  {
    id: 'rr.object-pattern',
    title: '{cmd} object pattern matched whatever the key order',
    needs: ['requestResponse', 'objectPatterns'],
    patterns: { messages: [{ cmd: 'sum' }] },
    sends: 'the handler is `@MessagePattern({ ns, cmd: "sum" })`; requests to `{ cmd, ns }` ← `[1, 2]`, then `{ ns, cmd }` ← `[3, 4]`',
    asserts: 'replies `3` and `7`: object patterns match whatever the key order',
    async run(rig) {
      await rig.server([onMessage(rig.pattern({ cmd: 'sum' }), sum)]);
      const client = await rig.client();
      assert.equal(await rig.request(client, { cmd: 'sum', ns: rig.env.ns }, [1, 2]), rig.wire(3), 'keys in another order than the handler’s');
      assert.equal(await rig.request(client, { ns: rig.env.ns, cmd: 'sum' }, [3, 4]), rig.wire(7), 'keys in the handler’s order');
    },
  },
  {
    id: 'rr.async',
    title: 'handler returns a Promise',
    needs: ['requestResponse'],
    patterns: { messages: ['sum'] },
    sends: '`sum` ← `[4, 5]`; the handler resolves after 10 ms',
    asserts: 'the reply is `9`',
    async run(rig) {
      await rig.server([onMessage(rig.p('sum'), async (nums: number[]) => (await delay(10), sum(nums)))]);
      assert.equal(await rig.request(await rig.client(), rig.p('sum'), [4, 5]), rig.wire(9));
    },
  },
  {
    id: 'rr.concurrent',
    title: '500 requests in flight, each answered to its own caller',
    needs: ['requestResponse'],
    patterns: { messages: ['double'] },
    sends: 'one warm-up request, then 500 requests `double` ← `1…500` at once; the handler waits `n % 7` ms',
    asserts:
      'each caller gets `2n` (replies are correlated, none lost or swapped); the wait ends when no reply arrived for 10 s, however long the 500 take (throughput is the benchmark’s question)',
    timeoutMs: 120_000,
    async run(rig) {
      await rig.server([onMessage(rig.p('double'), async (n: number) => (await delay(n % 7), n * 2))]);
      const client = await rig.client();
      assert.equal(await rig.request(client, rig.p('double'), 0, 5_000, 'the warm-up request (double ← 0)'), rig.wire(0), 'warm-up reply');
      const ids = Array.from({ length: 500 }, (_, i) => i + 1);
      // Bounded by progress, not by a rate: a busy machine answers 500 requests slowly, a lost reply never arrives.
      const stop = new Subject<void>();
      let settled = 0;
      let lastReply = Date.now();
      const pending = ids.map((i) =>
        lastValueFrom(client.send(rig.p('double'), i).pipe(takeUntil(stop))).then(
          (value) => ((lastReply = Date.now()), settled++, value),
          (err) => (settled++, Promise.reject(err)),
        ),
      );
      const all = Promise.allSettled(pending);
      const stall = rig.ms(10_000);
      let unanswered = ids.length;
      try {
        await rig.until(() => settled === ids.length || Date.now() - lastReply > stall, 110_000, 'the 500 replies');
      } finally {
        unanswered = ids.length - settled;
        stop.next(); // the callers still waiting stop waiting
      }
      assert.equal(unanswered, 0, `${unanswered} of 500 callers got nothing, and no reply arrived for ${stall} ms`);
      const answers = await all;
      const wrong = ids
        .map((i, k) => ({ i, answer: answers[k] }))
        .filter(({ i, answer }) => answer.status === 'rejected' || !isDeepStrictEqual(answer.value, rig.wire(i * 2)));
      assert.equal(
        wrong.length,
        0,
        `${wrong.length} of 500 callers got no or a wrong answer: ${wrong
          .slice(0, 5)
          .map(
            ({ i, answer }) =>
              `#${i} expected ${show(rig.wire(i * 2))}, ${answer.status === 'fulfilled' ? `got ${show(answer.value)}` : errorText(answer.reason)}`,
          )
          .join('; ')}`,
      );
    },
  },
  {
    id: 'rr.stream',
    title: "an Observable handler's values arrive in order, then completion",
    needs: ['requestResponse', 'streaming'],
    patterns: { messages: ['count'] },
    sends: '`count` ← `20`; the handler returns an Observable of `1…20`, one value every 2 ms',
    asserts: 'the client sees `1…20` in order, then completion (nothing more)',
    async run(rig) {
      await rig.server([
        onMessage(rig.p('count'), (n: number) =>
          interval(2).pipe(
            take(n),
            map((i) => i + 1),
          ),
        ),
      ]);
      const values = await rig.collect((await rig.client()).send(rig.p('count'), 20), 5_000, 'streamed reply');
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
    patterns: { messages: ['none'] },
    sends: '`none` ← `1`; the handler returns `EMPTY`',
    asserts: 'the client’s Observable completes without any value',
    async run(rig) {
      await rig.server([onMessage(rig.p('none'), () => EMPTY)]);
      assert.deepEqual(await rig.collect((await rig.client()).send(rig.p('none'), 1), 5_000, 'empty reply'), []);
    },
  },
  {
    id: 'rr.payload-types',
    title: 'strings, numbers, booleans, null, nested objects, arrays, unicode round-trip',
    needs: ['requestResponse'],
    patterns: { messages: ['echo'] },
    sends:
      '`echo` ← each sample in turn: `"plain"`, `""`, `0`, `-42.5`, `MAX_SAFE_INTEGER`, `true`, `false`, a nested object with `null`, a nested array, a string with accents, CJK, emoji, NUL, newline, tab, quotes and backslash, an object with Cyrillic keys',
    asserts: 'each reply deep-equals its sample (after `wire`); a failure names the sample',
    async run(rig) {
      await rig.server([onMessage(rig.p('echo'), (data: unknown) => data)]);
      const client = await rig.client();
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
      for (const [i, sample] of samples.entries()) {
        const name = `sample ${i + 1} of ${samples.length} (${show(sample, 40)})`;
        assert.deepEqual(await rig.request(client, rig.p('echo'), sample, 5_000, `the echo of ${name}`), rig.wire(sample), `round-trip of ${name}`);
      }
    },
  },
  {
    id: 'rr.payload-large',
    title: "a payload near the backend's limit",
    needs: ['requestResponse'],
    patterns: { messages: ['length'] },
    sends: '`length` ← a string of `payload.large` bytes (1 MiB by default) ending in `12345678`',
    asserts: 'the reply is `{ length, tail: "12345678" }`',
    timeoutMs: 30_000,
    async run(rig) {
      const size = rig.transport.payload?.large ?? 1024 * 1024;
      await rig.server([onMessage(rig.p('length'), (s: string) => ({ length: s.length, tail: s.slice(-8) }))]);
      const body = `${'x'.repeat(size - 8)}12345678`;
      assert.deepEqual(await rig.request(await rig.client(), rig.p('length'), body, 20_000, `the reply to a ${size}-byte request`), {
        length: size,
        tail: '12345678',
      });
    },
  },
  {
    id: 'rr.payload-too-large',
    title: 'over the limit: a clear error on the client, server unharmed',
    needs: ['requestResponse', 'payloadLimit'],
    patterns: { messages: ['length', 'sum'] },
    sends: '`length` ← a string of `payload.tooLarge` bytes, then `sum` ← `[1, 1]` from a new client',
    asserts: 'the oversized request fails (matching `payload.tooLargeError` when given); the server still answers `2`',
    notApplicable: (t) => (t.payload?.tooLarge ? undefined : 'the descriptor states no payload limit'),
    timeoutMs: 30_000,
    async run(rig) {
      const { tooLarge, tooLargeError } = rig.transport.payload!;
      await rig.server([onMessage(rig.p('length'), (s: string) => s.length), onMessage(rig.p('sum'), sum)]);
      const client = await rig.client();
      const err = await rig.errorOf(client.send(rig.p('length'), 'x'.repeat(tooLarge!)), 10_000, `the ${tooLarge}-byte request`);
      if (tooLargeError) assert.match(errorText(err), tooLargeError);
      assert.equal(await rig.request(await rig.client(), rig.p('sum'), [1, 1], 5_000, 'a request after the oversized one'), rig.wire(2), 'server serves on');
    },
  },
  {
    id: 'rr.no-handler',
    title: 'Nest\'s "no matching message handler" error',
    needs: ['requestResponse'],
    patterns: { messages: ['sum', 'missing'] },
    sends: '`missing` ← `1` (no handler), then `sum` ← `[2, 2]`',
    asserts:
      "the first fails with Nest's \"no matching message handler\" (or the descriptor's `noHandler`: another error, or unanswered until the client's 1 s timeout); the second is answered `4`",
    async run(rig) {
      await rig.server([onMessage(rig.p('sum'), sum)]);
      const client = await rig.client();
      const expected = rig.transport.noHandler ?? { behaviour: 'error', message: NO_HANDLER };
      if (expected.behaviour === 'unanswered') {
        const err = await rig.errorOf(client.send(rig.p('missing'), 1).pipe(timeout(1_000)), 5_000, 'the request without handler');
        assert.equal(err?.name, 'TimeoutError', `unanswered, so the client's timeout ends it (got ${errorText(err)})`);
      } else {
        const err = await rig.errorOf(client.send(rig.p('missing'), 1), 5_000, 'the request without handler');
        assert.match(errorText(err), expected.message);
      }
      assert.equal(await rig.request(client, rig.p('sum'), [2, 2], 5_000, 'a request after the one without handler'), rig.wire(4), 'server serves on');
    },
  },
  {
    id: 'rr.rpc-exception',
    title: "the RpcException's error object arrives intact",
    needs: ['requestResponse'],
    patterns: { messages: ['refuse'] },
    sends: '`refuse` ← `1`; the handler throws `new RpcException({ status, code, message, details })` (nested, with unicode)',
    asserts: 'the client’s error deep-equals that object',
    async run(rig) {
      const error = { status: 'error', code: 'E_CONFORMANCE', message: 'refused', details: { ids: [1, 2], why: 'ünïcode' } };
      await rig.server([
        onMessage(rig.p('refuse'), () => {
          throw new RpcException(error);
        }),
      ]);
      assert.deepEqual(await rig.errorOf((await rig.client()).send(rig.p('refuse'), 1), 5_000, 'the refused request'), error);
    },
  },
  {
    id: 'rr.unknown-error',
    title: "a plain Error arrives as Nest's internal-error shape, no stack leaks",
    needs: ['requestResponse'],
    patterns: { messages: ['crash'] },
    sends: '`crash` ← `1`; the handler rejects with `new Error("secret-detail-42")`',
    asserts: 'the client’s error is `{ status: "error", message: "Internal server error" }`, without the message or a stack frame',
    async run(rig) {
      await rig.server([
        onMessage(rig.p('crash'), async () => {
          throw new Error('secret-detail-42');
        }),
      ]);
      const err = await rig.errorOf((await rig.client()).send(rig.p('crash'), 1), 5_000, 'the crashing request');
      assert.deepEqual(err, INTERNAL_ERROR);
      assert.doesNotMatch(JSON.stringify(err), /secret-detail-42|\bat \S+:\d+/);
    },
  },
  {
    id: 'rr.timeout',
    title: "the client's timeout fires; the server serves the next request",
    needs: ['requestResponse'],
    patterns: { messages: ['slow', 'sum'] },
    sends: '`slow` ← `1` with an rxjs `timeout(300)` (the handler waits until the scenario ends), then `sum` ← `[5, 5]`',
    asserts: 'the first fails with `TimeoutError`; the second is answered `10` while the slow handler still runs',
    async run(rig) {
      const gate = deferred();
      await rig.server([onMessage(rig.p('slow'), () => gate.promise.then(() => 'late')), onMessage(rig.p('sum'), sum)]);
      const client = await rig.client();
      try {
        const err = await rig.errorOf(client.send(rig.p('slow'), 1).pipe(timeout(300)), 5_000, 'the slow request');
        assert.equal(err?.name, 'TimeoutError');
        assert.equal(await rig.request(client, rig.p('sum'), [5, 5], 5_000, 'a request after the timed-out one'), rig.wire(10), 'server serves on');
      } finally {
        gate.resolve();
      }
    },
  },
  {
    id: 'rr.unsubscribe',
    title: 'unsubscribing early leaks nothing and a late reply is dropped',
    needs: ['requestResponse'],
    patterns: { messages: ['slow', 'echo'] },
    sends: '`echo` ← `"warm"`; `slow` ← `1`, unsubscribed once its handler started; then `echo` ← `"after-0…2"`',
    asserts:
      'the unsubscribed caller sees nothing (no value, error or completion); Nest clients drop the routing entry; later requests get their own answers; the slow handler still finishes',
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
      const client = await rig.client();
      await rig.request(client, rig.p('echo'), 'warm', 5_000, 'the warm-up request (echo ← "warm")');
      const seen: string[] = [];
      const sub = client.send(rig.p('slow'), 1).subscribe({
        next: (v) => seen.push(`next ${show(v)}`),
        error: (e) => seen.push(`error ${errorText(e)}`),
        complete: () => seen.push('complete'),
      });
      try {
        await withTimeout(started.promise, rig.ms(5_000), 'the slow handler started');
        sub.unsubscribe();
        const pending = (client as any).routingMap;
        if (pending instanceof Map) assert.equal(pending.size, 0, 'routing entry removed on unsubscribe');
      } finally {
        gate.resolve();
      }
      // The late reply is on its way now; a later request on the same client gets its own answer.
      for (let i = 0; i < 3; i++) assert.equal(await rig.request(client, rig.p('echo'), `after-${i}`), rig.wire(`after-${i}`));
      await rig.until(() => finished === 1, 2_000, 'slow handler finished');
      assert.deepEqual(seen, [], 'the unsubscribed caller saw nothing');
    },
  },
];
