import { describe, expect, it } from '@jest/globals';
import type { WritePacket } from '@nestjs/microservices';
import { of } from 'rxjs';
import { replyWithStream, toObservable } from '../src/index.js';

describe('replyWithStream: one packet for a single result', () => {
  it('sends a plain or Promise result and its completion as one packet', async () => {
    for (const result of [42, Promise.resolve(42), of(42)]) {
      const sent: WritePacket[] = [];
      await replyWithStream(toObservable(result), async (p) => void sent.push({ ...p }));
      expect(sent).toEqual([{ response: 42, isDisposed: true }]);
    }
  });
});
