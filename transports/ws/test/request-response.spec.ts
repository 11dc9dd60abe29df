import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { WsClient, WsRecord, WsRecordBuilder } from '../src/index.js';
import { client, startApp, within } from './app.js';
import { seen, TestController } from './handlers.js';

describe.each(['json', 'msgpack'] as const)('WsServer + WsClient over %s', (codec) => {
  let started: Awaited<ReturnType<typeof startApp>>;
  let ws: WsClient;

  beforeAll(async () => {
    started = await startApp([TestController], { codec });
    ws = client(started.url, { codec });
    await ws.connect();
  });
  afterAll(async () => {
    await ws.close();
    await started.app.close();
  });
  beforeEach(() => {
    seen.events.length = 0;
    seen.second.length = 0;
  });

  it('answers a request', async () => {
    await expect(firstValueFrom(ws.send('sum', [1, 2, 3]))).resolves.toBe(6);
  });

  it('matches object patterns whatever the key order', async () => {
    await expect(firstValueFrom(ws.send({ v: 2, cmd: 'sum' }, [1, 2]))).resolves.toBe(6);
    await expect(firstValueFrom(ws.send({ cmd: 'sum', v: 2 }, [1, 2]))).resolves.toBe(6);
  });

  it('answers 500 concurrent requests, each to its own caller', async () => {
    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => firstValueFrom(ws.send('async', { i }))));
    expect(results).toEqual(Array.from({ length: 500 }, (_, i) => ({ i })));
    expect(ws.inFlight).toBe(0);
  });

  it('streams every value of an Observable handler in order, then completes', async () => {
    await expect(lastValueFrom(ws.send('stream', 50).pipe(toArray()))).resolves.toEqual(Array.from({ length: 50 }, (_, i) => i));
    await expect(lastValueFrom(ws.send('ticks', 5).pipe(toArray()))).resolves.toEqual([0, 10, 20, 30, 40]);
  });

  it('completes an empty stream without a value', async () => {
    await expect(lastValueFrom(ws.send('stream', 0).pipe(toArray()))).resolves.toEqual([]);
  });

  it('carries every JSON payload type intact', async () => {
    const payloads = ['text', '', 'ünïcödé 🚀 中文', 0, -1.5, 1e21, true, false, [], {}, { a: { b: [1, 'x', null, { c: true }] } }];
    for (const payload of payloads) await expect(firstValueFrom(ws.send('echo', payload))).resolves.toEqual(payload);
  });

  it('carries a payload near maxPayload, and fails one over it on the client before sending', async () => {
    const near = 'n'.repeat(1024 * 1024 - 200);
    await expect(firstValueFrom(ws.send('echo', near))).resolves.toBe(near);
    const err = await firstValueFrom(ws.send('echo', 'o'.repeat(1024 * 1024 + 1))).catch((e) => e);
    expect(err).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      message: expect.stringMatching(/^WsClient: the encoded message is \d+ bytes, over the limit of 1048576 bytes/),
    });
    await expect(firstValueFrom(ws.emit('recorded', 'o'.repeat(1024 * 1024 + 1)), { defaultValue: 'sent' })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
    await expect(firstValueFrom(ws.send('sum', [1, 2]))).resolves.toBe(3);
  });

  it("delivers an RpcException's error object intact", async () => {
    await expect(firstValueFrom(ws.send('rpc-error', {}))).rejects.toEqual({ code: 'E_DECLINED', detail: { amount: 5 } });
  });

  it("turns a plain Error into Nest's internal error shape, without the message or stack", async () => {
    const err = await firstValueFrom(ws.send('plain-error', {})).catch((e) => e);
    expect(err).toEqual({ status: 'error', message: 'Internal server error' });
  });

  it("answers an unknown pattern with Nest's no-handler error", async () => {
    await expect(firstValueFrom(ws.send('nobody-home', {}))).rejects.toBe('There is no matching message handler defined in the remote service.');
  });

  it('rejects an invalid payload through ValidationPipe with the validation error', async () => {
    await expect(firstValueFrom(ws.send('order', { quantity: 3 }))).resolves.toBe(3);
    const err = await firstValueFrom(ws.send('order', { quantity: 0 })).catch((e) => e);
    expect(err).toEqual(['quantity must not be less than 1']);
  });

  it('runs every event handler for a pattern', async () => {
    await firstValueFrom(ws.emit('recorded', { n: 1 }), { defaultValue: undefined });
    await within(
      waitUntil(() => seen.events.length === 1 && seen.second.length === 1),
      2000,
      'both handlers',
    );
    expect(seen.events).toEqual([{ n: 1 }]);
    expect(seen.second).toEqual([{ n: 1 }]);
  });

  it('keeps the order of events from one client', async () => {
    for (let i = 0; i < 200; i++) ws.emit('recorded', i);
    await within(
      waitUntil(() => seen.events.length === 200),
      3000,
      '200 events',
    );
    expect(seen.events).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  it('survives a failing event handler and an event with no handler', async () => {
    await firstValueFrom(ws.emit('explode', {}), { defaultValue: undefined });
    await firstValueFrom(ws.emit('no-such-event', {}), { defaultValue: undefined });
    await expect(firstValueFrom(ws.send('sum', [2, 2]))).resolves.toBe(4);
  });

  it('gives @Ctx() a WsContext with pattern, metadata and connection facts', async () => {
    const record = new WsRecordBuilder<object>({}).setMetadata({ tenant: 'acme' }).build();
    const ctx = (await firstValueFrom(ws.send('context', record))) as Record<string, unknown>;
    expect(ctx).toMatchObject({ isWsContext: true, pattern: 'context', metadata: { tenant: 'acme' }, auth: null, open: true });
    expect(typeof ctx.connectionId).toBe('string');
  });

  it("carries Nest 12 dispatch-hook metadata next to the record's", async () => {
    const hooked = client(started.url, { codec });
    hooked.setOnDispatchHook((packet) => {
      packet.metadata = { trace: 't-1' };
    });
    try {
      const ctx = (await firstValueFrom(hooked.send('context', new WsRecord({}, { metadata: { tenant: 'b' } })))) as { metadata: unknown };
      expect(ctx.metadata).toEqual({ trace: 't-1', tenant: 'b' });
    } finally {
      await hooked.close();
    }
  });

  it('times a request out with its own timeout and serves the next one', async () => {
    const err = await firstValueFrom(ws.send('slow', new WsRecord(300, { timeout: 50 }))).catch((e) => e);
    expect(err).toMatchObject({ code: 'REQUEST_TIMEOUT', message: 'No reply to "slow" within 50 ms.' });
    await expect(firstValueFrom(ws.send('sum', [1]))).resolves.toBe(1);
  });

  it('drops the reply of a request unsubscribed early, leaking nothing', async () => {
    const subscription = ws.send('slow', 50).subscribe();
    expect(ws.inFlight).toBeGreaterThanOrEqual(0);
    await within(
      waitUntil(() => ws.inFlight === 1),
      1000,
      'the request in flight',
    );
    subscription.unsubscribe();
    expect(ws.inFlight).toBe(0);
    await expect(firstValueFrom(ws.send('slow', 80))).resolves.toBe('slept 80');
    expect(ws.inFlight).toBe(0);
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 5));
}
