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
