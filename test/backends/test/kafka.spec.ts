import { afterAll, describe, expect, it } from '@jest/globals';
import { Kafka, logLevel } from 'kafkajs';
import { canStartKafka, createKafkaTopics } from '../src/kafka.js';
import { failedStart } from './failed-start.js';
import { resolveBackend, stopAllBackends } from '../src/index.js';

const kafka = await resolveBackend('kafka');
afterAll(stopAllBackends);

describe('kafka', () => {
  const available = kafka.available ? it : it.skip;

  available('is one shared broker per process', async () => {
    expect(await resolveBackend('kafka')).toBe(kafka);
  });

  available(
    'produces and consumes through a consumer group',
    async () => {
      if (!kafka.available) return;
      const topic = `backends-${Date.now()}`;
      await createKafkaTopics(kafka.url, [topic]);
      const client = new Kafka({ clientId: 'backends-test', brokers: kafka.url.split(','), logLevel: logLevel.NOTHING });
      const consumer = client.consumer({ groupId: `${topic}-group`, sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 100 });
      const producer = client.producer();
      try {
        await Promise.all([consumer.connect(), producer.connect()]);
        await consumer.subscribe({ topics: [topic], fromBeginning: true });
        const received = new Promise<string>((resolve) => {
          void consumer.run({ eachMessage: async ({ message }) => resolve(message.value?.toString() ?? '') });
        });
        await producer.send({ topic, messages: [{ key: 'k', value: 'kafka ok' }] });
        expect(await received).toBe('kafka ok');
      } finally {
        await Promise.all([consumer.disconnect(), producer.disconnect()]);
      }
    },
    60_000,
  );

  (canStartKafka() ? it : it.skip)(
    'a broker that does not come up in time fails with its log and leaves no temp folder',
    async () => {
      const { error, left } = await failedStart('startKafkaBroker');
      expect(error).toMatch(/did not come up[\s\S]*--- broker log ---/);
      expect(left).toEqual([]);
    },
    60_000,
  );

  if (!kafka.available) it(`is unavailable: ${kafka.reason}`, () => expect(kafka.reason).toContain('KAFKA_BROKERS'));
});
