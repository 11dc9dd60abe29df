import { describe, expect, it } from '@jest/globals';
import { headers as natsHeaders } from '@nats-io/transport-node';
import {
  InvalidOptionError,
  isValidSubject,
  JETSTREAM_DEFAULTS,
  JetStreamClient,
  JetStreamContext,
  JetStreamRecord,
  JetStreamRecordBuilder,
  JetStreamServer,
  subjectMatches,
} from '../src/index.js';
import { unwrapRecord } from '../src/record.js';
import { buildHeaders, headerRecord, messageSize } from '../src/wire.js';

const invalid = (make: () => unknown) => {
  try {
    make();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionError);
    return (err as Error).message;
  }
  throw new Error('no InvalidOptionError');
};

describe('JetStream options are checked at construction, naming the option and the fix', () => {
  it.each([
    [{ stream: 'ORDERS' }, /option "consumer" is missing\. Events need both/],
    [{ consumer: 'svc' }, /option "stream" is missing/],
    [{ stream: 'OR.DERS', consumer: 'svc' }, /option "stream" is "OR\.DERS"/],
    [{ stream: 'S', consumer: 'a b' }, /option "consumer" is "a b"/],
    [{ servers: '' }, /option "servers" is ""\. Use a NATS URL/],
    [{ servers: [] }, /option "servers" is \[\]/],
    [{ requestPrefix: 'rpc.*' }, /option "requestPrefix" is "rpc\.\*"\. Use a NATS subject without wildcards/],
    [{ stream: 'S', consumer: 'c', deadLetterSubject: 'dead.>' }, /option "deadLetterSubject" is "dead\.>"/],
    [{ deadLetterSubject: 'dead.orders' }, /option "deadLetterSubject" is set without a stream and consumer/],
    [{ maxDeliveries: 0 }, /option "maxDeliveries" is 0/],
    [{ ordering: 'key' }, /option "ordering" is "key"\. Use one of "none", "subject"/],
    [{ batchSize: 0 }, /option "batchSize"/],
    [{ maxConcurrency: 0 }, /option "maxConcurrency"/],
    [{ retryDelaySeconds: -1 }, /option "retryDelaySeconds"/],
    [{ streamConfig: { subjects: [] } }, /option "streamConfig\.subjects" is \[\]/],
    [{ consumerConfig: { ack_policy: 'none' } }, /option "consumerConfig\.ack_policy" is "none"\. Leave it out/],
    [{ connection: {} }, /option "connection" is not a NatsConnection/],
    [{ maxPayLoad: 1 }, /option "maxPayLoad" is not an option of this transport/],
  ])('server %j', (options, message) => {
    expect(invalid(() => new JetStreamServer(options as never))).toMatch(message);
  });

  it.each([
    [{ subject: 'orders.*' }, /option "subject" is "orders\.\*"/],
    [{ subject: 3 }, /option "subject" is 3/],
    [{ requestTimeout: -1 }, /option "requestTimeout"/],
    [{ publishTimeout: 0 }, /option "publishTimeout"/],
    [{ maxMessageBytes: 0 }, /option "maxMessageBytes"/],
    [{ stream: 'S' }, /option "stream" is not an option of this transport/],
    [{ codec: 'xml' }, /option "codec"/],
  ])('client %j', (options, message) => {
    expect(invalid(() => new JetStreamClient(options as never))).toMatch(message);
  });

  it('accepts the documented options', () => {
    expect(
      () =>
        new JetStreamServer({
          servers: ['nats://a:4222'],
          stream: 'ORDERS',
          consumer: 'orders',
          autoCreate: true,
          streamConfig: { subjects: ['orders.>'] },
          deadLetterSubject: 'dead.orders',
          ordering: 'subject',
        }),
    ).not.toThrow();
    expect(() => new JetStreamClient({ subject: (route) => `orders.${route}`, requestTimeout: 1000, codec: 'msgpack' })).not.toThrow();
  });

  it('retries after 1, 2, 4… seconds by default, at most a minute', () => {
    expect([1, 2, 3, 4, 7, 8, 20].map(JETSTREAM_DEFAULTS.retryDelaySeconds)).toEqual([1, 2, 4, 8, 60, 60, 60]);
  });
});

describe('JetStream subjects', () => {
  it('accepts what NATS publishes to, and nothing else', () => {
    for (const ok of ['a', 'orders.created', '{"cmd":"sum"}', 'a-b_c.d']) expect(isValidSubject(ok)).toBe(true);
    for (const bad of ['', 'a..b', '.a', 'a.', 'a b', 'a.*', '>', 'a.>.b', 'tab\there']) expect(isValidSubject(bad)).toBe(false);
  });

  it('matches subject filters as NATS does', () => {
    expect(subjectMatches('orders.>', 'orders.created')).toBe(true);
    expect(subjectMatches('orders.>', 'orders.a.b')).toBe(true);
    expect(subjectMatches('orders.>', 'orders')).toBe(false);
    expect(subjectMatches('orders.*', 'orders.a.b')).toBe(false);
    expect(subjectMatches('*.created', 'orders.created')).toBe(true);
    expect(subjectMatches('orders.created', 'orders.created')).toBe(true);
    expect(subjectMatches('orders.created', 'orders.created.x')).toBe(false);
    expect(subjectMatches('>', 'anything.at.all')).toBe(true);
  });
});

describe('JetStream wire and records', () => {
  it('never lets a user header overwrite the transport’s own (nest-*) ones', () => {
    const h = buildHeaders({ tenant: 'acme', 'Nest-Pattern': 'forged', 'nest-id': 'forged' }, { 'nest-pattern': 'orders' });
    expect(headerRecord(h)).toEqual({ tenant: 'acme', 'nest-pattern': 'orders' });
  });

  it('counts headers against the size limit', () => {
    const h = natsHeaders();
    h.set('k', 'v'.repeat(100));
    expect(messageSize('abc', h)).toBeGreaterThan(103);
    expect(messageSize(Buffer.from('abc'))).toBe(3);
  });

  it('builds a record with headers, a message id and a subject', () => {
    const record = new JetStreamRecordBuilder({ a: 1 }).setHeaders({ x: '1' }).setMessageId('m-1').setSubject('orders.special').build();
    expect(record).toBeInstanceOf(JetStreamRecord);
    expect(unwrapRecord(record)).toEqual({ data: { a: 1 }, options: { headers: { x: '1' }, messageId: 'm-1', subject: 'orders.special' } });
    expect(unwrapRecord({ a: 1 })).toEqual({ data: { a: 1 } });
  });

  it('refuses ack()/nack() on a context without manualAck, saying why', () => {
    const ctx = new JetStreamContext([{ subject: 's', data: new Uint8Array(), headers: undefined } as never, 's', undefined, undefined]);
    expect(() => ctx.ack()).toThrow(/need the server option manualAck: true/);
    expect(ctx.getDeliveryAttempt()).toBe(1);
    expect(ctx.isStreamMessage()).toBe(false);
  });
});
