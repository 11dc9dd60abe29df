import assert from 'node:assert/strict';
import type { Observable } from 'rxjs';
import { timeout } from 'rxjs';
import type { Scenario } from '../scenario.js';
import { onMessage, type Rig } from '../rig.js';
import { TimeoutError, delay, errorText, withTimeout } from '../util.js';

const sum = (nums: number[]) => nums.reduce((a, b) => a + b, 0);

function record(status: Observable<string>): string[] {
  const seen: string[] = [];
  status.subscribe((s) => seen.push(s));
  return seen;
}

/** After close: the documented last status, or (null) no status at all after the connected one. */
async function expectLast(rig: Rig, seen: string[], expected: string | null | undefined, who: string): Promise<void> {
  if (expected === null) {
    const before = seen.length;
    await rig.settle();
    assert.deepEqual(seen.slice(before), [], `${who} emits no status on close, as documented (saw ${seen})`);
    return;
  }
  const want = expected ?? 'disconnected';
  await rig.until(
    () => seen.at(-1) === want,
    2_000,
    () => `${who} status ${want} after close (saw ${seen})`,
  );
}

/** Retries a request until it succeeds (a user's retry loop), bounded overall. */
async function eventually<T>(attempt: () => Promise<T>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      return await attempt();
    } catch (err) {
      last = err;
      await delay(100);
    }
  }
  throw new TimeoutError(`${what} did not succeed within ${ms} ms; last error: ${errorText(last)}`);
}

export const lifecycle: Scenario[] = [
  {
    id: 'life.status',
    title: 'status goes connected → disconnected on close (server and client)',
    needs: ['requestResponse'],
    patterns: { messages: ['sum'] },
    sends: '`sum` ← `[1]`, then the client closes, then the server',
    asserts:
      'both `status` Observables include `connected`, then end at `disconnected` (or the descriptor’s `statusAfterClose`; `null`: nothing is emitted on close)',
    async run(rig) {
      const app = await rig.createServer([onMessage(rig.p('sum'), sum)]);
      const serverSeen = record(app.status);
      await rig.listen(app);
      const client = await rig.client();
      const clientSeen = record(client.status);
      await rig.request(client, rig.p('sum'), [1]);
      await rig.until(
        () => serverSeen.includes('connected'),
        2_000,
        () => `server status connected (saw ${serverSeen})`,
      );
      await rig.until(
        () => clientSeen.includes('connected'),
        2_000,
        () => `client status connected (saw ${clientSeen})`,
      );
      const expected = rig.transport.statusAfterClose ?? {};
      await rig.closeClient(client);
      await expectLast(rig, clientSeen, expected.client, 'client');
      await rig.closeServer(app);
      await expectLast(rig, serverSeen, expected.server, 'server');
    },
  },
  {
    id: 'life.client-first',
    title: 'the client sends before the server listens (queued, or a clear error, as documented)',
    needs: ['requestResponse'],
    patterns: { messages: ['sum'] },
    sends: '`sum` ← `[2, 3]` before the server listens (it is created, not listening), then the server listens',
    asserts:
      '`clientFirst: "queues"`: that request is answered `5` once the server is up; `"errors"`: it fails fast (not by a timeout) and a retry after listen is answered; `"drops"`: only the client’s 1 s timeout ends it, and a retry after listen is answered',
    notApplicable: (t) => (t.clientFirst ? undefined : 'the descriptor does not say what the client does before the server listens'),
    timeoutMs: 30_000,
    async run(rig) {
      const behaviour = rig.transport.clientFirst!;
      const client = await rig.client();
      const app = await rig.createServer([onMessage(rig.p('sum'), sum)]);
      if (behaviour === 'queues') {
        const early = rig.request(client, rig.p('sum'), [2, 3], 15_000, 'the request sent before the server listened');
        await delay(200); // let the request reach the broker before anyone consumes
        await rig.listen(app);
        assert.equal(await early, rig.wire(5), 'queued request answered once the server is up');
        return;
      }
      const err = await rig.errorOf(
        client.send(rig.p('sum'), [2, 3]).pipe(timeout(behaviour === 'drops' ? 1_000 : 5_000)),
        10_000,
        'the request sent before the server listened',
      );
      if (behaviour === 'drops') assert.equal(err?.name, 'TimeoutError', `dropped, so only the client's timeout ends it (got ${errorText(err)})`);
      else assert.notEqual(err?.name, 'TimeoutError', 'fails fast with an error, not by timing out');
      await rig.listen(app);
      assert.equal(await eventually(() => rig.request(client, rig.p('sum'), [2, 3], 1_000), rig.ms(10_000), 'request after listen'), rig.wire(5));
    },
  },
  {
    id: 'life.reconnect',
    title: 'close the client, then send again',
    needs: ['requestResponse', 'reconnect'],
    patterns: { messages: ['sum'] },
    sends: '`sum` ← `[1, 2]`, `client.close()`, then `sum` ← `[3, 4]` on the same client',
    asserts: 'both are answered (`3`, `7`): a closed client connects again on the next send',
    async run(rig) {
      await rig.server([onMessage(rig.p('sum'), sum)]);
      const client = await rig.client();
      assert.equal(await rig.request(client, rig.p('sum'), [1, 2]), rig.wire(3));
      await withTimeout(Promise.resolve(client.close()), rig.ms(5_000), 'client.close()');
      assert.equal(await rig.request(client, rig.p('sum'), [3, 4], 5_000, 'the request after close()'), rig.wire(7), 'the closed client connects again');
    },
  },
  {
    id: 'life.server-restart',
    title: 'the server restarts; the same client recovers',
    needs: ['requestResponse', 'reconnect'],
    patterns: { messages: ['sum'] },
    sends: '`sum` ← `[1, 1]`, the server closes, a new server (answering ten times the sum) listens, then `sum` ← `[1, 1]` retried every 100 ms',
    asserts: 'the same client gets `20` from the new server within 15 s',
    timeoutMs: 30_000,
    async run(rig) {
      const first = await rig.server([onMessage(rig.p('sum'), sum)]);
      const client = await rig.client();
      assert.equal(await rig.request(client, rig.p('sum'), [1, 1]), rig.wire(2));
      await rig.closeServer(first);
      await rig.server([onMessage(rig.p('sum'), (n: number[]) => sum(n) * 10)]);
      assert.equal(await eventually(() => rig.request(client, rig.p('sum'), [1, 1], 1_000), rig.ms(15_000), 'request after restart'), rig.wire(20));
    },
  },
  {
    id: 'life.graceful-close',
    title: 'closing the server lets in-flight handlers finish and their replies arrive',
    needs: ['requestResponse', 'gracefulClose'],
    patterns: { messages: ['slow'] },
    sends: '5 requests `slow` ← `1…5` (each handler takes 300 ms); the server closes once all 5 started',
    asserts: 'all 5 replies arrive (`1…5`), and close() completes',
    async run(rig) {
      let started = 0;
      const app = await rig.server([
        onMessage(rig.p('slow'), async (n: number) => {
          started++;
          await delay(300);
          return n;
        }),
      ]);
      const client = await rig.client();
      const replies = [1, 2, 3, 4, 5].map((n) => rig.request(client, rig.p('slow'), n, 10_000, `the reply to slow ← ${n} (in flight when the server closed)`));
      await rig.until(
        () => started === 5,
        5_000,
        () => `all handlers started (${started} of 5)`,
      );
      const closing = rig.closeServer(app);
      assert.deepEqual(
        await Promise.all(replies),
        [1, 2, 3, 4, 5].map((n) => rig.wire(n)),
      );
      await closing;
    },
  },
  {
    id: 'life.unreachable',
    title: 'a client pointed at a backend that does not answer fails clearly within a bound',
    needs: ['requestResponse'],
    patterns: { messages: ['sum'] },
    sends: '`sum` ← `[1]` from the descriptor’s `unreachableClient(env)` (an address where nothing listens)',
    asserts: 'the request fails with a non-empty error within 15 s (never hangs)',
    notApplicable: (t) => (t.unreachableClient ? undefined : 'the descriptor gives no unreachableClient'),
    timeoutMs: 30_000,
    async run(rig) {
      const client = rig.track(rig.transport.unreachableClient!(rig.env));
      const err = await rig.errorOf(client.send(rig.p('sum'), [1]), 15_000, 'request to an unreachable backend');
      assert.ok(errorText(err).length > 0, 'the error says something');
    },
  },
  {
    id: 'life.slow-reader',
    title: "a peer that never reads its replies cannot grow the server's memory without bound",
    needs: ['requestResponse', 'backpressure'],
    patterns: { messages: ['big'] },
    sends: 'the descriptor’s `slowReader` probe sends 2000 requests `big` (each reply 64 KiB) and never reads',
    asserts: 'the server buffers under 32 MiB for that peer (of the 128 MiB it was asked for)',
    notApplicable: (t) => (t.slowReader ? undefined : 'the descriptor gives no slowReader probe'),
    timeoutMs: 30_000,
    async run(rig) {
      const replyBytes = 64 * 1024;
      const reply = 'r'.repeat(replyBytes);
      await rig.server([onMessage(rig.p('big'), () => reply)]);
      const probe = await rig.transport.slowReader!(rig.env, rig.p('big'));
      try {
        await probe.flood(2_000, replyBytes);
        await delay(500);
        const buffered = probe.serverBufferedBytes();
        // 2000 unread 64 KiB replies would be 128 MiB; a bounded server keeps a small fraction.
        assert.ok(buffered < 32 * 1024 * 1024, `server buffers ${buffered} bytes for a peer that never reads`);
      } finally {
        await probe.close();
      }
    },
  },
];
