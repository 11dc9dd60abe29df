import { describe, expect, it } from '@jest/globals';
import { PubSub } from '@google-cloud/pubsub';
import { InvalidOptionError } from '@nest-transports/shared';
import {
  PUBSUB_DEFAULTS,
  PubSubClient,
  PubSubContext,
  PubSubRecord,
  PubSubRecordBuilder,
  PubSubServer,
  parsePushRequest,
  type PubSubClientOptions,
  type PubSubServerOptions,
} from '../src/index.js';
import { publisherOptions } from '../src/publish-timeout.js';

const clientConfig = { projectId: 'p', apiEndpoint: '127.0.0.1:1', emulatorMode: true };
const server = (options: Record<string, unknown>) => () => new PubSubServer({ clientConfig, subscription: 'orders-sub', ...options } as PubSubServerOptions);
const client = (options: Record<string, unknown>) => () => new PubSubClient({ clientConfig, topic: 'orders', ...options } as PubSubClientOptions);

describe('option validation', () => {
  it('accepts the minimal options', () => {
    expect(server({})).not.toThrow();
    expect(client({})).not.toThrow();
    expect(client({ topic: (route: string) => `t-${route}`, orderingKey: 'k' })).not.toThrow();
    expect(server({ client: new PubSub({ projectId: 'p' }), clientConfig: undefined })).not.toThrow();
    expect(server({ intake: 'pull', batchSize: 10, waitTimeSeconds: 2, publishTimeout: 2_000 })).not.toThrow();
  });

  it.each([
    ['server without a subscription', server({ subscription: undefined }), /"subscription" is missing\. Name the subscription/],
    ['a bad subscription name', server({ subscription: 'x' }), /"subscription" has the invalid name "x"/],
    ['a goog-prefixed name', server({ subscriptions: ['googly-sub'] }), /invalid name "googly-sub"/],
    ['a typo', server({ flowControll: {} }), /"flowControll" is not an option.*flowControl/],
    ['flow control below 1', server({ flowControl: { maxMessages: 0 } }), /"maxMessages" is 0\. Use a whole number from 1/],
    ['an unknown malformed policy', server({ onMalformed: 'drop' }), /"onMalformed" is "drop"\. Use one of "retain", "discard"/],
    ['a concurrency of 0', server({ maxConcurrency: 0 }), /"maxConcurrency" is 0\. Use a whole number from 1/],
    ['a negative close timeout', server({ closeTimeout: -1 }), /"closeTimeout"/],
    ['no project id', server({ clientConfig: {} }), /"clientConfig.projectId" is missing.*metadata server/],
    ['a client that is not a PubSub', server({ client: {} }), /"client" is not a PubSub instance/],
    ['client without a topic', client({ topic: undefined }), /"topic" is missing\. Name the topic/],
    ['a payload limit over 10 MB', client({ maxMessageBytes: 10_000_001 }), /"maxMessageBytes" is 10000001\. Use a whole number from 1 to 10000000/],
    ['a negative timeout', client({ requestTimeout: -5 }), /"requestTimeout"/],
    ['a bad ordering key option', client({ orderingKey: 5 }), /"orderingKey" is 5/],
    ['a bad codec', client({ codec: 'xml' }), /"codec" is "xml"/],
    ['an unknown intake', server({ intake: 'poll' }), /"intake" is "poll"\. Use one of "streaming", "pull"/],
    [
      'flow control with intake "pull"',
      server({ intake: 'pull', flowControl: { maxMessages: 1 } }),
      /"flowControl" applies to intake "streaming" only.*maxConcurrency/,
    ],
    ['subscriber options with intake "pull"', server({ intake: 'pull', subscriberOptions: {} }), /"subscriberOptions" applies to intake "streaming" only/],
    ['a batch size without intake "pull"', server({ batchSize: 10 }), /"batchSize" applies to intake "pull" only\. Set intake: "pull"/],
    ['a batch size over 1000', server({ intake: 'pull', batchSize: 1001 }), /"batchSize" is 1001\. Use a whole number from 1 to 1000/],
    ['a pull wait under 2 s', server({ intake: 'pull', waitTimeSeconds: 1 }), /"waitTimeSeconds" is 1/],
    ['a server publish timeout of 0', server({ publishTimeout: 0 }), /"publishTimeout" is 0/],
  ])('rejects %s, naming the option and the fix', (_label, make, message) => {
    expect(make).toThrow(InvalidOptionError);
    expect(make).toThrow(message);
  });

  it('documents its defaults', () => {
    expect(PUBSUB_DEFAULTS).toMatchObject({
      autoCreate: false,
      onMalformed: 'retain',
      manualAck: false,
      maxConcurrency: 100,
      closeTimeout: 30_000,
      requestResponse: true,
      requestTimeout: 0,
      maxMessageBytes: 10_000_000,
      intake: 'streaming',
      waitTimeSeconds: 5,
      publishTimeout: 10_000,
      publishBatchingMs: 1,
    });
  });

  it('publishes after a 1 ms batching window unless the user sets one, bounded by publishTimeout', () => {
    expect(publisherOptions(undefined, 5000)).toEqual({ batching: { maxMilliseconds: 1 }, gaxOpts: { timeout: 5000 } });
    expect(publisherOptions({ batching: { maxMilliseconds: 20, maxMessages: 10 } }, 5000).batching).toEqual({ maxMilliseconds: 20, maxMessages: 10 });
    expect(publisherOptions({ batching: { maxMessages: 10 } }, 5000).batching).toEqual({ maxMilliseconds: 1, maxMessages: 10 });
  });
});

describe('PubSubRecordBuilder', () => {
  it('builds a record with attributes and an ordering key', () => {
    const record = new PubSubRecordBuilder({ a: 1 }).setAttributes({ tenant: 't' }).setOrderingKey('k').build();
    expect(record).toBeInstanceOf(PubSubRecord);
    expect(record).toEqual(new PubSubRecord({ a: 1 }, { attributes: { tenant: 't' }, orderingKey: 'k' }));
  });
});

describe('PubSubContext', () => {
  const message = { id: 'm1', data: Buffer.from('{}'), attributes: { a: 'b' }, orderingKey: '', deliveryAttempt: 3 };
  it('exposes the message facts', () => {
    const ctx = new PubSubContext([message, 'projects/p/subscriptions/s', 'route', { trace: 't' }, undefined]);
    expect(ctx.getMessage()).toBe(message);
    expect(ctx.getSubscription()).toBe('projects/p/subscriptions/s');
    expect(ctx.getPattern()).toBe('route');
    expect(ctx.getAttributes()).toEqual({ a: 'b' });
    expect(ctx.getDeliveryAttempt()).toBe(3);
    expect(ctx.getOrderingKey()).toBeUndefined();
    expect(ctx.getMetadata()).toEqual({ trace: 't' });
  });
  it('refuses manual ack unless the server runs with manualAck', () => {
    const ctx = new PubSubContext([message, 's', 'r', undefined, undefined]);
    expect(() => ctx.ack()).toThrow(/manualAck: true/);
  });
});

describe('parsePushRequest', () => {
  it('reads the wrapped push format', () => {
    const parsed = parsePushRequest({
      subscription: 'projects/p/subscriptions/s',
      deliveryAttempt: 2,
      message: { data: Buffer.from('hi').toString('base64'), attributes: { k: 'v' }, message_id: '9', orderingKey: 'o' },
    });
    expect(parsed).toMatchObject({
      subscription: 'projects/p/subscriptions/s',
      message: { id: '9', attributes: { k: 'v' }, orderingKey: 'o', deliveryAttempt: 2 },
    });
    expect('message' in parsed && parsed.message.data.toString()).toBe('hi');
  });
  it('rejects anything else', () => {
    expect(parsePushRequest({})).toHaveProperty('error');
    expect(parsePushRequest(null)).toHaveProperty('error');
  });
});
