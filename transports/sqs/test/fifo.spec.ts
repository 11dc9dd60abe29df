import { afterEach, expect, it } from '@jest/globals';
import { Controller } from '@nestjs/common';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { InvalidOptionError } from '@nest-transports/shared';
import { SqsContext, SqsRecordBuilder } from '../src/index.js';
import { Collector, describeSqs } from './helpers.js';

let seen = new Collector<{ group?: string; value: number }>();
let inFlightGroups = new Set<string>();
let overlapped = false;

@Controller()
class FifoController {
  @EventPattern<string>('step')
  async step(@Payload() value: number, @Ctx() ctx: SqsContext) {
    const group = ctx.getMessageGroupId()!;
    if (inFlightGroups.size > 0 && !inFlightGroups.has(group)) overlapped = true;
    inFlightGroups.add(group);
    // Later values finish sooner: any reordering inside a group would show.
    await new Promise((r) => setTimeout(r, 20 - (value % 10) * 2));
    inFlightGroups.delete(group);
    seen.push({ group, value });
  }
}

describeSqs('SqsServer + SqsClient: FIFO queues', (bed) => {
  afterEach(async () => {
    await bed.closeAll();
    seen = new Collector();
    inFlightGroups = new Set();
    overlapped = false;
  });

  const fifoQueue = () => bed.queue('fifo', { FifoQueue: 'true' });

  it('keeps order within each message group while groups run side by side', async () => {
    const queue = await fifoQueue();
    await bed.app(FifoController, { queues: [queue], pollers: 2, maxConcurrency: 10 });
    const client = bed.client({ queue });
    const groups = ['a', 'b', 'c'];
    const n = 12;
    const sends = [];
    for (let value = 0; value < n; value++) {
      for (const group of groups) {
        sends.push(firstValueFrom(client.emit('step', new SqsRecordBuilder(value).setMessageGroupId(group).build())));
      }
    }
    await Promise.all(sends);
    const items = await seen.wait(n * groups.length, 15_000);
    for (const group of groups) {
      expect(items.filter((i) => i.group === group).map((i) => i.value)).toEqual(Array.from({ length: n }, (_, i) => i));
    }
    expect(overlapped).toBe(true); // one group does not serialise the whole queue
  });

  it("uses the pattern as the default group, keeping one client's events in order", async () => {
    const queue = await fifoQueue();
    await bed.app(FifoController, { queues: [queue] });
    const client = bed.client({ queue });
    await Promise.all(Array.from({ length: 15 }, (_, i) => firstValueFrom(client.emit('step', i))));
    const items = await seen.wait(15);
    expect(items.map((i) => i.value)).toEqual(Array.from({ length: 15 }, (_, i) => i));
    expect(new Set(items.map((i) => i.group))).toEqual(new Set(['step']));
  });

  it('delivers messages with the same deduplication id once', async () => {
    const queue = await fifoQueue();
    await bed.app(FifoController, { queues: [queue] });
    const client = bed.client({ queue });
    const record = (value: number, dedup: string) => new SqsRecordBuilder(value).setMessageGroupId('g').setDeduplicationId(dedup).build();
    await firstValueFrom(client.emit('step', record(1, 'same')));
    await firstValueFrom(client.emit('step', record(1, 'same')));
    await firstValueFrom(client.emit('step', record(2, 'other')));
    const items = await seen.wait(2);
    expect(items.map((i) => i.value)).toEqual([1, 2]); // in-group order: a duplicate would come before 2
  });

  it('rejects a per-message delay on a FIFO queue with a clear error', async () => {
    const queue = await fifoQueue();
    const client = bed.client({ queue });
    const err = await firstValueFrom(client.emit('step', new SqsRecordBuilder(1).setDelaySeconds(5).build())).catch((e) => e);
    expect(err).toBeInstanceOf(InvalidOptionError);
    expect(err.message).toMatch(/delaySeconds.*FIFO/);
  });
});
