import { describe, expect, it } from '@jest/globals';
import { InFlightTracker, KeyedSerialRunner, ReplySequencer } from '../src/index.js';

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
