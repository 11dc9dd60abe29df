import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { InvalidOptionError, JsonCodec, MsgpackCodec } from '@nest-transports/shared';
import { Batcher, type EntryResult } from '../src/batcher.js';
import { SqsClient, SqsRecord, SqsRecordBuilder, SqsServer, resolveClientOptions, resolveServerOptions } from '../src/index.js';
import { FIFO_ID, groupIdOf } from '../src/fifo-ids.js';
import { queueUrlFromArn } from '../src/lambda.js';
import { VisibilityKeeper } from '../src/visibility.js';
import { explain, SqsCredentialsExpiredError } from '../src/sqs-api.js';
import { attributeProblem, decodeBody, encodeBody, messageSize, userAttributes } from '../src/wire.js';

describe('SqsServer options', () => {
  it('fills in the documented defaults', () => {
    expect(resolveServerOptions({ queues: ['orders'] })).toMatchObject({
      queues: ['orders'],
      pollers: 1,
      batchSize: 10,
      waitTimeSeconds: 20,
      maxConcurrency: 20,
      closeTimeout: 30000,
      extendVisibility: true,
      manualAck: false,
      onMalformed: 'retain',
      maxMessageBytes: 262144,
    });
  });

  it.each([
    [{ queues: [] }, 'queues', /non-empty array/],
    [{ queues: ['bad name!'] }, 'queues', /queue URLs/],
    [{ queues: ['q'], batchSize: 11 }, 'batchSize', /from 1 to 10/],
    [{ queues: ['q'], waitTimeSeconds: 21 }, 'waitTimeSeconds', /from 0 to 20/],
    [{ queues: ['q'], maxConcurrency: 0 }, 'maxConcurrency', /from 1/],
    [{ queues: ['q'], maxMessageBytes: 2_000_000 }, 'maxMessageBytes', /to 1048576/],
    [{ queues: ['q'], retryDelaySeconds: -1 }, 'retryDelaySeconds', /seconds from 0 to 43200/],
    [{ queues: ['q'], onMalformed: 'drop' }, 'onMalformed', /"retain", "discard"/],
    [{ queues: ['q'], closeTimeout: -1 }, 'closeTimeout', /from 0/],
    [{ queues: ['q'], maxConcurency: 3 }, 'maxConcurency', /not an option.*maxConcurrency/],
    [{ queues: ['q'], systemAttributes: 'All' }, 'systemAttributes', /array of system attribute names: All, /],
    [{ queues: ['q'], systemAttributes: ['SentTime'] }, 'systemAttributes', /SentTimestamp/],
  ])('rejects %j naming %s and the fix', (options, option, fix) => {
    const construct = () => new SqsServer(options as never);
    expect(construct).toThrow(InvalidOptionError);
    expect(construct).toThrow(new RegExp(`option "${option}"`));
    expect(construct).toThrow(fix);
  });

  it('accepts a backoff function for retryDelaySeconds', () => {
    expect(() => new SqsServer({ queues: ['q'], retryDelaySeconds: (n) => n * 10, sqs: { region: 'us-east-1' } })).not.toThrow();
  });
});

describe('SqsClient options', () => {
  it('fills in the documented defaults', () => {
    expect(resolveClientOptions({ queue: 'https://sqs.eu-west-1.amazonaws.com/123/orders' })).toMatchObject({
      replyQueuePrefix: 'nest-reply',
      requestTimeout: 60_000,
      sendRetries: 3,
      maxMessageBytes: 262144,
    });
  });

  it.each([
    [{}, 'queue', /URL .* or the name/],
    [{ queue: 'q', replyQueuePrefix: 'has space' }, 'replyQueuePrefix', /matching/],
    [{ queue: 'q', requestTimeout: -5 }, 'requestTimeout', /whole number/],
    [{ queue: 'q', messageGroupId: '' }, 'messageGroupId', /ASCII letters, digits and punctuation/],
    [{ queue: 'q', messageGroupId: 'order created' }, 'messageGroupId', /no spaces/],
    [{ queue: 'x'.repeat(81) }, 'queue', /URL .* or the name/],
    [{ queue: 'q', codec: 'xml' }, 'codec', /"json" \(default\), "msgpack"/],
  ])('rejects %j naming %s and the fix', (options, option, fix) => {
    const construct = () => new SqsClient(options as never);
    expect(construct).toThrow(new RegExp(`option "${option}"`));
    expect(construct).toThrow(fix);
  });
});

describe('SqsRecordBuilder', () => {
  it('builds a record with FIFO, delay and attribute options', () => {
    const record = new SqsRecordBuilder({ id: 1 })
      .setMessageGroupId('g')
      .setDeduplicationId('d')
      .setDelaySeconds(3)
      .setMessageAttributes({ a: 'x' })
      .setMessageAttributes({ b: 2 })
      .build();
    expect(record).toBeInstanceOf(SqsRecord);
    expect(record).toEqual(new SqsRecord({ id: 1 }, { messageGroupId: 'g', deduplicationId: 'd', delaySeconds: 3, messageAttributes: { a: 'x', b: 2 } }));
  });
});

describe('message attributes', () => {
  it('maps strings, numbers and bytes to SQS attribute values', () => {
    expect(userAttributes('T', { s: 'x', n: 4, b: Buffer.from('hi') }, 1)).toEqual({
      s: { DataType: 'String', StringValue: 'x' },
      n: { DataType: 'Number', StringValue: '4' },
      b: { DataType: 'Binary', BinaryValue: Buffer.from('hi') },
    });
  });

  it('refuses the reserved prefix and more attributes than SQS allows', () => {
    expect(() => userAttributes('T', { 'nest-id': 'x' }, 1)).toThrow(/reserved prefix/);
    const many = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`a${i}`, 'v']));
    expect(() => userAttributes('T', many, 3)).toThrow(/at most 7 attributes/);
  });

  it('counts attributes in the message size as SQS does', () => {
    expect(messageSize('abc', { k: { DataType: 'String', StringValue: 'vv' } })).toBe(3 + 1 + 6 + 2);
  });
});

describe('message bodies', () => {
  // What SQS accepts in a body, without the range above U+FFFF that emulators (fauxqs) refuse.
  const SAFE = /^[\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD]*$/;

  it('escapes what SQS or an emulator rejects in JSON, and decodes to the same value', () => {
    const value = { text: 'wörld 你好 🚀👩‍💻 \u0000\n\t"q"\\ \uFFFF \uFFFE \uD800x', nested: { ключ: ['🎉', 1, null] } };
    const codec = new JsonCodec();
    const body = encodeBody(codec, value);
    expect(body).toMatch(SAFE);
    expect(body).toContain('\\ud83d\\ude80');
    expect(decodeBody(codec, body)).toEqual(value);
  });

  it('carries a binary codec as base64', () => {
    const codec = new MsgpackCodec();
    const body = encodeBody(codec, { text: '🚀' });
    expect(body).toMatch(/^[A-Za-z0-9+/=]+$/);
    expect(decodeBody(codec, body)).toEqual({ text: '🚀' });
  });
});

describe('FIFO group ids from patterns (#3)', () => {
  const patterns = ['order created', 'commande.créée', '{"cmd":"a b"}', 'tab\there', '', 'x'.repeat(129), `${'x'.repeat(200)}1`, `${'x'.repeat(200)}2`, '注文'];

  it('keeps a pattern that is a valid group id as it is', () => {
    for (const pattern of ['orders.created', '{"cmd":"sum"}', 'a'.repeat(128), '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~']) expect(groupIdOf(pattern)).toBe(pattern);
  });

  it('derives a valid, stable, readable id from any other pattern', () => {
    for (const pattern of patterns) {
      expect(groupIdOf(pattern)).toMatch(FIFO_ID);
      expect(groupIdOf(pattern)).toBe(groupIdOf(pattern));
    }
    expect(groupIdOf('commande.créée')).toMatch(/^commande\.creee~[\w-]{22}$/);
    expect(groupIdOf('order created')).toMatch(/^order_created~/);
  });

  it('gives distinct patterns distinct groups (long ones differing only past 128 characters too)', () => {
    const ids = patterns.map(groupIdOf);
    expect(new Set(ids).size).toBe(patterns.length);
    expect(ids).not.toContain('order_created'); // never the id of another, valid pattern
  });
});

describe('SQS rules checked before sending (#10)', () => {
  it('accepts queue names of up to 80 characters, ".fifo" included', () => {
    expect(() => resolveServerOptions({ queues: ['q'.repeat(80), `${'f'.repeat(75)}.fifo`] })).not.toThrow();
    expect(() => resolveClientOptions({ queue: `${'q'.repeat(75)}.fifo`, replyQueue: 'r'.repeat(80) })).not.toThrow();
    expect(() => resolveServerOptions({ queues: [`${'f'.repeat(76)}.fifo`] })).toThrow(/option "queues"/);
  });

  it.each([
    ['tenant', { DataType: 'String', StringValue: '' }, /is empty/],
    ['weight', { DataType: 'Number', StringValue: 'NaN' }, /not a number/],
    ['weight', { DataType: 'Number', StringValue: 'Infinity' }, /not a number/],
    ['weight', { DataType: 'Number', StringValue: '1e200' }, /outside SQS's Number range/],
    ['blob', { DataType: 'Binary', BinaryValue: new Uint8Array(0) }, /empty Binary/],
    ['kind', { DataType: 'Text', StringValue: 'x' }, /DataType "Text"/],
    ['bad name', { DataType: 'String', StringValue: 'x' }, /name SQS does not accept/],
    ['AWS.trace', { DataType: 'String', StringValue: 'x' }, /reserves/],
    ['ctl', { DataType: 'String', StringValue: 'a\u0001b' }, /characters SQS does not accept/],
  ])('refuses attribute %s = %j', (name, value, problem) => {
    expect(attributeProblem(name, value as never)).toMatch(problem);
  });

  it('accepts what SQS accepts', () => {
    for (const [name, value] of Object.entries({
      'a.b-c_d': { DataType: 'String', StringValue: 'wörld 🚀' },
      n: { DataType: 'Number', StringValue: '-12.5e3' },
      custom: { DataType: 'Number.int', StringValue: '7' },
      b: { DataType: 'Binary', BinaryValue: Buffer.from('x') },
    })) {
      expect(attributeProblem(name, value)).toBeUndefined();
    }
  });

  it('names the attribute in the error: an empty string or NaN never reaches SQS', () => {
    expect(() => userAttributes('SqsClient', { tenant: '' }, 1)).toThrow(/option "messageAttributes.tenant" is empty/);
    expect(() => userAttributes('SqsClient', { weight: Number.NaN }, 1)).toThrow(/option "messageAttributes.weight" is "NaN"/);
  });

  it('builds queue URLs from ARNs in every partition', () => {
    expect(queueUrlFromArn('arn:aws:sqs:eu-west-1:123456789012:jobs')).toBe('https://sqs.eu-west-1.amazonaws.com/123456789012/jobs');
    expect(queueUrlFromArn('arn:aws-cn:sqs:cn-north-1:123456789012:jobs')).toBe('https://sqs.cn-north-1.amazonaws.com.cn/123456789012/jobs');
    expect(queueUrlFromArn('arn:aws-us-gov:sqs:us-gov-west-1:123456789012:jobs.fifo')).toBe('https://sqs.us-gov-west-1.amazonaws.com/123456789012/jobs.fifo');
  });

  it('explains an expired session token', async () => {
    const expired = Object.assign(new Error('The security token included in the request is expired'), { name: 'ExpiredToken' });
    const err = await explain({ send: async () => undefined } as never, 'SqsClient', 'orders', expired);
    expect(err).toBeInstanceOf(SqsCredentialsExpiredError);
    expect(err.message).toMatch(/session credentials .* have expired.*leave `credentials` unset.*provider function/);
  });
});

describe('Batcher', () => {
  const ok: EntryResult = { ok: true };

  it('coalesces adds into calls of at most maxEntries', async () => {
    const calls: number[][] = [];
    const batcher = new Batcher<number>(async (items) => (calls.push(items), items.map(() => ok)), { maxEntries: 10, windowMs: 5, retries: 0 });
    await Promise.all(Array.from({ length: 25 }, (_, i) => batcher.add(i)));
    expect(calls.map((c) => c.length)).toEqual([10, 10, 5]);
  });

  it('splits by weight', async () => {
    const calls: number[][] = [];
    const batcher = new Batcher<number>(async (items) => (calls.push(items), items.map(() => ok)), {
      maxEntries: 10,
      maxWeight: 100,
      weight: (n) => n,
      windowMs: 5,
      retries: 0,
    });
    await Promise.all([60, 30, 20, 90].map((n) => batcher.add(n)));
    expect(calls).toEqual([[60, 30], [20], [90]]);
  });

  it('retries only the failed entries, and fails an entry whose error is not retryable', async () => {
    const calls: string[][] = [];
    let transientLeft = 1;
    const batcher = new Batcher<string>(
      async (items) => {
        calls.push(items);
        return items.map((item): EntryResult => {
          if (item === 'transient' && transientLeft-- > 0) return { ok: false, error: new Error('throttled'), retryable: true };
          if (item === 'bad') return { ok: false, error: new Error('invalid'), retryable: false };
          return ok;
        });
      },
      { maxEntries: 10, windowMs: 1, retries: 2 },
    );
    const results = await Promise.allSettled(['a', 'transient', 'bad'].map((x) => batcher.add(x)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect(calls).toEqual([['a', 'transient', 'bad'], ['transient']]);
  });

  it('keeps one call in flight with maxInFlight 1, in order', async () => {
    let inFlight = 0;
    let peak = 0;
    const order: number[] = [];
    const batcher = new Batcher<number>(
      async (items) => {
        peak = Math.max(peak, ++inFlight);
        await new Promise((r) => setTimeout(r, 5));
        order.push(...items);
        inFlight--;
        return items.map(() => ok);
      },
      { maxEntries: 3, windowMs: 0, retries: 0, maxInFlight: 1 },
    );
    await Promise.all(Array.from({ length: 10 }, (_, i) => batcher.add(i)));
    expect(peak).toBe(1);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('ordered (FIFO): a retried entry is sent before everything added after it (#8)', async () => {
    const sent: number[] = [];
    let calls = 0;
    const batcher = new Batcher<number>(
      async (items) => {
        const first = ++calls === 1;
        await new Promise((r) => setTimeout(r, 2));
        return items.map((item): EntryResult => {
          // The first call: the service refuses entry 2, and (a FIFO batch being kept in order) the entries after it.
          if (first && item >= 2) return { ok: false, error: new Error('InternalError'), retryable: true };
          sent.push(item);
          return ok;
        });
      },
      { maxEntries: 5, windowMs: 0, retries: 3, maxInFlight: 1, ordered: true },
    );
    await Promise.all(Array.from({ length: 12 }, (_, i) => batcher.add(i)));
    expect(sent).toEqual(Array.from({ length: 12 }, (_, i) => i));
  });

  it('flush() waits for everything queued', async () => {
    let sent = 0;
    const batcher = new Batcher<number>(async (items) => ((sent += items.length), items.map(() => ok)), { maxEntries: 10, windowMs: 1000, retries: 0 });
    void batcher.add(1);
    void batcher.add(2);
    await batcher.flush();
    expect(sent).toBe(2);
  });
});

describe('VisibilityKeeper', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('extends every held message each half timeout with one timer, until settled or maxSeconds', async () => {
    jest.useFakeTimers();
    const calls: Array<[string, number]> = [];
    const ops = { changeVisibility: async (_url: string, handle: string, seconds: number) => void calls.push([handle, seconds]) };
    const keeper = new VisibilityKeeper(ops as never, { log: () => undefined, warn: () => undefined, error: () => undefined }, 3);
    const stopA = keeper.keep('q', 'a', 2);
    jest.advanceTimersByTime(300);
    keeper.keep('q', 'b', 2);
    keeper.keep('q', 'c', 0); // no timeout to keep
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(700); // a is due at 1 s; b (1.3 s) is not within a tenth of the interval
    expect(calls).toEqual([['a', 2]]);
    stopA();
    jest.advanceTimersByTime(300); // b is due
    expect(calls).toEqual([
      ['a', 2],
      ['b', 2],
    ]);
    jest.advanceTimersByTime(1000); // b again: held 2 s of maxSeconds 3, so 1 s more
    expect(calls[2]).toEqual(['b', 1]);
    jest.advanceTimersByTime(1000); // held 3 s: no more extensions, and no timer left
    expect(calls).toHaveLength(3);
    expect(jest.getTimerCount()).toBe(0);
    keeper.keep('q', 'd', 2);
    keeper.stopAll();
    expect(jest.getTimerCount()).toBe(0);
  });
});
