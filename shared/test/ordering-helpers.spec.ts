import { getEventListeners } from 'node:events';
import { describe, expect, it } from '@jest/globals';
import { HandlerSlots, InFlightTracker, KeyedSerialRunner, LogThrottle, PullLoop, ReplySequencer } from '../src/index.js';

describe('ReplySequencer', () => {
  it('passes unnumbered replies through and forgets a key on request', () => {
    const seq = new ReplySequencer<string>();
    expect(seq.accept('x', undefined, 'raw')).toEqual(['raw']);
    expect(seq.accept('r', 1, 'b')).toEqual([]);
    expect(seq.waiting).toBe(1);
    seq.forget('r');
    expect(seq.waiting).toBe(0);
    expect(seq.accept('r', 1, 'b')).toEqual([]);
    expect(seq.accept('r', 0, 'a')).toEqual(['a', 'b']);
    expect(seq.accept('r', 1, 'b')).toEqual([]);
  });

  it('releases replies in sequence order whatever the arrival order', () => {
    const seq = new ReplySequencer<string>();
    expect(seq.accept('a', 2, 'c', true)).toEqual([]);
    expect(seq.accept('a', 1, 'b', false)).toEqual([]);
    expect(seq.waiting).toBe(1);
    expect(seq.accept('a', 0, 'a', false)).toEqual(['a', 'b', 'c']);
    expect(seq.waiting).toBe(0);
  });
  it('passes a single final reply straight through and ignores duplicates', () => {
    const seq = new ReplySequencer<number>();
    expect(seq.accept('x', 0, 1, true)).toEqual([1]);
    expect(seq.accept('y', 0, 1, false)).toEqual([1]);
    expect(seq.accept('y', 0, 1, false)).toEqual([]);
    expect(seq.accept('y', 1, 2, true)).toEqual([2]);
    expect(seq.waiting).toBe(0);
  });
  it('forgets keys nobody waits for', () => {
    const seq = new ReplySequencer<number>();
    seq.accept('gone', 3, 3, true);
    seq.retain(() => false);
    expect(seq.waiting).toBe(0);
  });
});

describe('KeyedSerialRunner', () => {
  it('runs one task at a time per key, keys in parallel, failures not blocking the next', async () => {
    const runner = new KeyedSerialRunner();
    const log: string[] = [];
    const task =
      (name: string, ms: number, fail = false) =>
      async () => {
        log.push(`start ${name}`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`end ${name}`);
        if (fail) throw new Error(name);
        return name;
      };
    const a1 = runner.run('a', task('a1', 20, true));
    const a2 = runner.run('a', task('a2', 1));
    const b1 = runner.run('b', task('b1', 1));
    await expect(a1).rejects.toThrow('a1');
    await expect(a2).resolves.toBe('a2');
    await expect(b1).resolves.toBe('b1');
    expect(log.indexOf('end a1')).toBeLessThan(log.indexOf('start a2'));
    expect(log.indexOf('end b1')).toBeLessThan(log.indexOf('end a1'));
    await new Promise((r) => setImmediate(r));
    expect(runner.activeKeys).toBe(0);
  });
});

describe('KeyedSerialRunner#interrupt', () => {
  it('marks the tasks queued for the key so far, not the later ones', async () => {
    const runner = new KeyedSerialRunner();
    let release!: () => void;
    const seen: Array<[string, boolean]> = [];
    const task = (name: string) => async (interrupted: boolean) => void seen.push([name, interrupted]);
    const first = runner.run('k', () => new Promise<void>((r) => (release = r)));
    const queued = runner.run('k', task('queued'));
    runner.interrupt('k');
    const later = runner.run('k', task('later'));
    const other = runner.run('other', task('other'));
    while (!release) await new Promise((r) => setImmediate(r));
    release();
    await Promise.all([first, queued, later, other]);
    expect(seen.filter(([name]) => name !== 'other')).toEqual([
      ['queued', true],
      ['later', false],
    ]);
    expect(seen).toContainEqual(['other', false]);
  });
});

describe('HandlerSlots', () => {
  it('hands out at most its capacity, in arrival order, and passes released slots on', async () => {
    const slots = new HandlerSlots(3);
    expect(await slots.acquireUpTo(10)).toBe(3);
    expect(slots.tryAcquire()).toBe(false);
    const first = slots.acquire();
    const second = slots.acquireUpTo(5);
    slots.release(2);
    await expect(first).resolves.toBe(true);
    await expect(second).resolves.toBe(1);
    expect(slots.inUse).toBe(3);
  });

  it('gives up waiting when aborted, holding nothing', async () => {
    const slots = new HandlerSlots(1);
    const abort = new AbortController();
    await slots.acquire();
    const waiting = slots.acquireUpTo(1, abort.signal);
    abort.abort();
    expect(await waiting).toBe(0);
    slots.release();
    expect(slots.inUse).toBe(0);
  });
});

describe('HandlerSlots on a shared signal', () => {
  // Node warns (MaxListenersExceededWarning) past 10 listeners on one signal unless its limit is lifted.
  it('lets any number of waiters listen to one abort signal', async () => {
    const slots = new HandlerSlots(1);
    slots.tryAcquire();
    const stop = new AbortController();
    const waits = Array.from({ length: 20 }, () => slots.acquire(stop.signal));
    expect(getEventListeners(stop.signal, 'abort')).toHaveLength(20);
    expect(maxListenersOf(stop.signal)).toBe(0); // 0: no limit
    stop.abort();
    expect(await Promise.all(waits)).toEqual(Array(20).fill(false));
  });
});

/** An EventTarget's listener limit (Node 20's getMaxListeners() throws for an unlimited AbortSignal). */
function maxListenersOf(target: EventTarget): unknown {
  const key = Object.getOwnPropertySymbols(target).find((s) => s.description === 'events.maxEventTargetListeners');
  return key && (target as unknown as Record<symbol, unknown>)[key];
}

describe('PullLoop', () => {
  it('receives only what free slots allow, backs off on errors, and stops', async () => {
    const slots = new HandlerSlots(4);
    const asked: number[] = [];
    const got: number[] = [];
    const errors: unknown[] = [];
    let calls = 0;
    let healthy = 0;
    const loop = new PullLoop<number>({
      slots,
      batchSize: 3,
      backoff: { initialDelay: 1, maxDelay: 2 },
      async receive(max) {
        asked.push(max);
        if (++calls === 2) throw new Error('backend down');
        return calls > 3 ? [] : Array.from({ length: max }, (_, i) => calls * 10 + i);
      },
      onMessages: (messages) => got.push(...messages),
      onError: (err) => errors.push(err),
      onHealthy: () => healthy++,
    });
    loop.start();
    while (got.length < 4) await new Promise((r) => setTimeout(r, 1));
    expect(asked.slice(0, 2)).toEqual([3, 1]); // 3 taken, then the one slot left
    expect(errors).toHaveLength(1);
    expect(healthy).toBe(1);
    expect(slots.inUse).toBe(4); // the consumer has not released them yet
    slots.release(4);
    await loop.stop();
    expect(slots.inUse).toBe(0);
  });
});

describe('LogThrottle', () => {
  it('logs a kind once per interval and counts what it left out', () => {
    const lines: string[] = [];
    let now = 0;
    const log = new LogThrottle(
      { log: (m: string) => lines.push(m), error: (m: string) => lines.push(m), warn: (m: string) => lines.push(m) },
      1000,
      2,
      () => now,
    );
    for (let i = 0; i < 5; i++) log.log('error', 'poison', () => `failed ${i}`);
    log.log('error', 'other', () => 'other');
    now = 1500;
    log.log('error', 'poison', () => 'failed again');
    expect(lines).toEqual(['failed 0', 'other', 'failed again (4 more like it in the last 2 s not logged)']);
  });
});

describe('InFlightTracker', () => {
  it('drains finished work and reports a timeout', async () => {
    const tracker = new InFlightTracker();
    let release!: () => void;
    tracker.track(new Promise<void>((r) => (release = r)));
    tracker.track(Promise.reject(new Error('ignored')));
    expect(await tracker.drain(20)).toBe(false);
    release();
    expect(await tracker.drain(1000)).toBe(true);
    expect(tracker.size).toBe(0);
  });
});
