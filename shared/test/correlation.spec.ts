import { describe, expect, it, jest } from '@jest/globals';
import type { WritePacket } from '@nestjs/microservices';
import { CorrelationTable, RequestTimeoutError } from '../src/index.js';

describe('CorrelationTable', () => {
  it('routes streamed replies to their caller and forgets the id on the final one', () => {
    const table = new CorrelationTable();
    const got: WritePacket[] = [];
    table.add('a', (p) => got.push(p));
    table.add('b', () => undefined);
    expect(table.deliver('a', { response: 1 })).toBe(true);
    expect(table.deliver('a', { response: 2, isDisposed: true })).toBe(true);
    expect(got).toEqual([{ response: 1 }, { response: 2, isDisposed: true }]);
    expect(table.has('a')).toBe(false);
    expect(table.size).toBe(1);
  });

  it('treats an error as final', () => {
    const table = new CorrelationTable();
    const got: WritePacket[] = [];
    table.add('a', (p) => got.push(p));
    table.deliver('a', { err: 'boom' });
    expect(got).toEqual([{ err: 'boom', isDisposed: true }]);
    expect(table.size).toBe(0);
  });

  it('drops and counts late replies after cleanup (unsubscribe)', () => {
    const table = new CorrelationTable();
    const callback = jest.fn();
    const cleanup = table.add('a', callback);
    cleanup();
    expect(table.deliver('a', { response: 1, isDisposed: true })).toBe(false);
    expect(callback).not.toHaveBeenCalled();
    expect(table.droppedReplies).toBe(1);
    expect(table.size).toBe(0);
  });

  it('times a request out with RequestTimeoutError and drops the late reply', () => {
    jest.useFakeTimers();
    try {
      const table = new CorrelationTable();
      const got: WritePacket[] = [];
      table.add('a', (p) => got.push(p), { ms: 100, pattern: 'slow' });
      jest.advanceTimersByTime(99);
      expect(got).toHaveLength(0);
      jest.advanceTimersByTime(1);
      expect(got).toHaveLength(1);
      expect(got[0].err).toBeInstanceOf(RequestTimeoutError);
      expect((got[0].err as Error).message).toBe('No reply to "slow" within 100 ms.');
      expect(table.deliver('a', { response: 1 })).toBe(false);
    } finally {
      jest.useRealTimers();
    }
  });

  it('times out each request at its own deadline, whatever the order they were added in', () => {
    jest.useFakeTimers();
    try {
      const table = new CorrelationTable();
      const timedOut: string[] = [];
      const onReply = (id: string) => (p: WritePacket) => void (p.err && timedOut.push(`${id}:${(p.err as Error).message}`));
      table.add('long', onReply('long'), { ms: 100, pattern: 'l' });
      const cleanup = table.add('gone', onReply('gone'), { ms: 100, pattern: 'g' });
      jest.advanceTimersByTime(30);
      cleanup();
      table.add('short', onReply('short'), { ms: 40, pattern: 's' });
      table.add('later', onReply('later'), { ms: 100, pattern: 'x' });
      table.add('untimed', onReply('untimed'));
      jest.advanceTimersByTime(39);
      expect(timedOut).toEqual([]);
      jest.advanceTimersByTime(1); // 70 ms
      expect(timedOut).toEqual(['short:No reply to "s" within 40 ms.']);
      jest.advanceTimersByTime(29);
      expect(timedOut).toHaveLength(1);
      jest.advanceTimersByTime(1); // 100 ms
      expect(timedOut).toEqual(['short:No reply to "s" within 40 ms.', 'long:No reply to "l" within 100 ms.']);
      expect(table.deliver('later', { response: 1, isDisposed: true })).toBe(true);
      jest.advanceTimersByTime(1000);
      expect(timedOut).toHaveLength(2);
      expect(table.size).toBe(1); // 'untimed' waits for its reply
    } finally {
      jest.useRealTimers();
    }
  });

  it('rejects everything in flight at once and clears its timers', () => {
    jest.useFakeTimers();
    try {
      const table = new CorrelationTable();
      const a = jest.fn<(p: WritePacket) => void>(() => {
        throw new Error('subscriber bug');
      });
      const b = jest.fn<(p: WritePacket) => void>();
      table.add('a', a, { ms: 50, pattern: 'x' });
      table.add('b', b);
      table.rejectAll(new Error('gone'));
      expect(a).toHaveBeenCalledTimes(1);
      expect(b).toHaveBeenCalledWith({ err: new Error('gone'), isDisposed: true });
      expect(table.size).toBe(0);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
