import { afterAll, describe, expect, it } from '@jest/globals';
import { once } from 'node:events';
import net from 'node:net';
import { connect as connectAmqp } from 'amqplib';
import { Redis } from 'ioredis';
import { connectAsync as connectMqtt } from 'mqtt';
import { connect as connectNats } from '@nats-io/transport-node';
import { resolveBackend, scaled, stopAllBackends } from '../src/index.js';
import { freePort, isPortOpen, LOCAL_SERVICES, resolveLocalService, waitForPort, type LocalServiceName } from '../src/services.js';
import type { ResolvedBackend } from '../src/types.js';

afterAll(stopAllBackends);

describe('port probes', () => {
  it('isPortOpen is true while a server listens and false once it is closed', async () => {
    const server = net.createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as net.AddressInfo;
    expect(await isPortOpen('127.0.0.1', port, 500)).toBe(true);
    await new Promise((resolve) => server.close(resolve));
    expect(await isPortOpen('127.0.0.1', port, 500)).toBe(false);
  });

  it('waitForPort gives up after its bound', async () => {
    const port = await freePort();
    const started = Date.now();
    expect(await waitForPort('127.0.0.1', port, 300)).toBe(false);
    expect(Date.now() - started).toBeLessThan(scaled(2000));
  });
});

describe('local service resolution', () => {
  it('takes the address in the environment first', async () => {
    process.env.MQTT_URL = 'mqtt://127.0.0.1:1';
    try {
      expect(await resolveLocalService('mqtt')).toMatchObject({ available: true, via: 'env', url: 'mqtt://127.0.0.1:1' });
    } finally {
      delete process.env.MQTT_URL;
    }
  });
});

const roundTrips: Record<LocalServiceName, (url: string) => Promise<string>> = {
  async redis(url) {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    try {
      await redis.set('backends:round-trip', 'redis ok', 'EX', 10);
      return (await redis.get('backends:round-trip')) ?? '';
    } finally {
      redis.disconnect();
    }
  },
  async nats(url) {
    const nc = await connectNats({ servers: url, timeout: 2000 });
    try {
      nc.subscribe('backends.echo', { max: 1, callback: (_err, msg) => void msg.respond(`${msg.string()} ok`) });
      return (await nc.request('backends.echo', 'nats', { timeout: 2000 })).string();
    } finally {
      await nc.close();
    }
  },
  async mqtt(url) {
    const client = await connectMqtt(url, { reconnectPeriod: 0, connectTimeout: 2000 });
    try {
      const topic = `backends/${process.pid}/${Date.now()}`;
      const received = new Promise<string>((resolve) => client.on('message', (_t, payload) => resolve(payload.toString())));
      await client.subscribeAsync(topic, { qos: 1 });
      await client.publishAsync(topic, 'mqtt ok', { qos: 1 });
      return await received;
    } finally {
      await client.endAsync();
    }
  },
  async amqp(url) {
    const connection = await connectAmqp(url);
    try {
      const channel = await connection.createChannel();
      const { queue } = await channel.assertQueue('', { exclusive: true });
      const received = new Promise<string>((resolve) => {
        void channel.consume(queue, (msg) => msg && resolve(msg.content.toString()), { noAck: true });
      });
      channel.sendToQueue(queue, Buffer.from('amqp ok'));
      return await received;
    } finally {
      await connection.close();
    }
  },
};

const resolved = new Map<LocalServiceName, ResolvedBackend>();
for (const name of Object.keys(LOCAL_SERVICES) as LocalServiceName[]) resolved.set(name, await resolveBackend(name));

describe.each([...resolved])('%s', (name, backend) => {
  if (!backend.available) {
    it(`is unavailable and says why: ${backend.reason}`, () => {
      expect(backend.reason).toContain(LOCAL_SERVICES[name].envVar);
    });
    return;
  }
  it(`answers a round trip (${backend.description})`, async () => {
    expect(await roundTrips[name](backend.url)).toBe(`${name} ok`);
  });
});
