import assert from 'node:assert/strict';
import type { Scenario } from '../scenario.js';
import { onEvent, onMessage } from '../rig.js';

/** Deterministic pseudo-random failures (mulberry32), so a failing run can be replayed. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const delivery: Scenario[] = [
  {
    id: 'del.redelivery',
    title: 'a handler that fails once sees the message again',
    needs: ['events', 'redelivery'],
    patterns: { events: ['job'] },
    sends: '`emit("job", { id: "a" })`; the handler throws on its first attempt',
    asserts: 'the handler sees the event a second time within 20 s',
    timeoutMs: 30_000,
    async run(rig) {
      const attempts = new Map<string, number>();
      await rig.server([
        onEvent(rig.p('job'), async (job: { id: string }) => {
          const n = (attempts.get(job.id) ?? 0) + 1;
          attempts.set(job.id, n);
          if (n === 1) throw new Error('first attempt fails');
        }),
      ]);
      await rig.sent((await rig.client()).emit(rig.p('job'), { id: 'a' }));
      await rig.until(
        () => (attempts.get('a') ?? 0) >= 2,
        20_000,
        () => `redelivered after a failure (attempts: ${attempts.get('a') ?? 0})`,
      );
    },
  },
  {
    id: 'del.durable',
    title: 'events emitted while no server runs are all handled once it starts',
    needs: ['events', 'durable'],
    patterns: { messages: ['ping'], events: ['stored'] },
    sends:
      'a server answers `ping` once (declaring its queue/subscription), then closes; 20 `emit("stored", i)` while no server runs; then a server with a `stored` handler starts',
    asserts: 'the new server handles all 20 (duplicates allowed) within 15 s',
    timeoutMs: 30_000,
    async run(rig) {
      // A server has run once (declaring its queue/subscription, as in production), then it goes away.
      const first = await rig.server([onMessage(rig.p('ping'), () => 'pong')]);
      const client = await rig.client();
      assert.equal(await rig.request(client, rig.p('ping'), 1, 5_000, 'the first server’s reply (ping)'), 'pong');
      await rig.closeServer(first);
      const count = 20;
      for (let i = 0; i < count; i++) await rig.sent(client.emit(rig.p('stored'), i));
      const got: number[] = [];
      await rig.server([onEvent(rig.p('stored'), (n: number) => void got.push(n))]);
      await rig.until(
        () => got.length >= count,
        15_000,
        () => `stored events handled (got ${got.length})`,
      );
      assert.deepEqual(
        [...new Set(got)].sort((a, b) => a - b),
        Array.from({ length: count }, (_, i) => rig.wire(i)),
      );
    },
  },
  {
    id: 'del.no-loss',
    title: 'N events through random handler failures: every one handled at least once',
    needs: ['events', 'redelivery'],
    patterns: { events: ['job'] },
    sends: '50 `emit("job", i)` awaited one by one; the handler fails at random 30% of the time (seeded, so a run can be replayed)',
    asserts: 'every event is handled successfully at least once within 45 s, and failures were injected',
    timeoutMs: 60_000,
    async run(rig) {
      const random = prng(0xc0ffee);
      const count = 50;
      const handled = new Map<number, number>();
      let failures = 0;
      await rig.server([
        onEvent(rig.p('job'), async (n: number) => {
          if (random() < 0.3) {
            failures++;
            throw new Error('random failure');
          }
          handled.set(n, (handled.get(n) ?? 0) + 1);
        }),
      ]);
      const client = await rig.client();
      for (let i = 0; i < count; i++) await rig.sent(client.emit(rig.p('job'), i));
      await rig.until(
        () => handled.size >= count,
        45_000,
        () => `every event handled (${handled.size}/${count}, ${failures} failures)`,
      );
      assert.ok(failures > 0, 'the run injected failures');
    },
  },
];
