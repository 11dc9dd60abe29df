import { describe, expect, it } from '@jest/globals';
import type { WritePacket } from '@nestjs/microservices';
import { EMPTY, from, Subject, throwError } from 'rxjs';
import { NO_MESSAGE_HANDLER, replyWithStream } from '../src/index.js';

const collect = () => {
  const sent: WritePacket[] = [];
  return { sent, respond: async (p: WritePacket) => void sent.push({ ...p }) };
};

describe('replyWithStream', () => {
  it('folds completion into the last value when both are queued', async () => {
    const { sent, respond } = collect();
    await replyWithStream(from([1, 2, 3]), respond);
    expect(sent).toEqual([{ response: 1 }, { response: 2 }, { response: 3, isDisposed: true }]);
  });
  it('sends a lone completion for an empty stream', async () => {
    const { sent, respond } = collect();
    await replyWithStream(EMPTY, respond);
    expect(sent).toEqual([{ isDisposed: true }]);
  });
  it('keeps order when respond is slow and values arrive late', async () => {
    const sent: unknown[] = [];
    const subject = new Subject<number>();
    const done = replyWithStream(subject, async (p) => {
      await new Promise((r) => setTimeout(r, 2));
      sent.push(p.response ?? (p.isDisposed ? 'end' : p.err));
    });
    for (let i = 0; i < 20; i++) subject.next(i);
    subject.complete();
    await done;
    expect(sent).toEqual([...Array.from({ length: 20 }, (_, i) => i)]);
  });
  it('replies an error as a final packet', async () => {
    const { sent, respond } = collect();
    await replyWithStream(
      throwError(() => ({ status: 'error', message: NO_MESSAGE_HANDLER })),
      respond,
    );
    expect(sent).toEqual([{ err: { status: 'error', message: NO_MESSAGE_HANDLER }, isDisposed: true }]);
  });
  it('rejects when a reply cannot be published, after trying the rest', async () => {
    let calls = 0;
    const result = replyWithStream(from([1, 2]), async () => {
      calls++;
      if (calls === 1) throw new Error('broker down');
    });
    await expect(result).rejects.toThrow('broker down');
    expect(calls).toBe(2);
  });
});
