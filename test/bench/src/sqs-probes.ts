// Behaviour figures of the SQS transport on a real SQS implementation (issue #16), not throughput:
//   node test/bench/dist/sqs-probes.js [--backend elasticmq|sqs] [--probes fifo,close,backlog,pollers]
// fifo     slow FIFO handlers behind one group: handler runs beyond one per message (duplicates), most at once
// close    20 events/s while the server closes and restarts 5 times: events delayed by a close (≥ visibility/2)
// backlog  a backlog of 200 events (100 ms handlers), the server closed 300 ms after it starts, 5 times: events delayed per close
// pollers  request-reply latency with 50 pollers (batchSize 1) on one queue
import 'reflect-metadata';
import { CreateQueueCommand, DeleteQueueCommand, SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';
import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { elasticMqRegion, resolveBackend, sqsClientConfig, stopAllBackends } from '@nest-transports/backends';
import { SqsClient, SqsRecord, SqsServer, type SqsServerOptions } from '@nest-transports/sqs';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const state = {
  runs: new Map<number, number>(),
  active: 0,
  maxActive: 0,
  order: [] as number[],
  arrivals: new Map<number, number>(),
};

@Controller()
class ProbeController {
  @EventPattern('slow')
  async slow(@Payload() i: number) {
    state.runs.set(i, (state.runs.get(i) ?? 0) + 1);
    state.maxActive = Math.max(state.maxActive, ++state.active);
    await sleep(1500);
    state.active--;
    state.order.push(i);
  }

  @EventPattern('tick')
  async tick(@Payload() data: { i: number; t: number; work: number }) {
    if (!state.arrivals.has(data.i)) state.arrivals.set(data.i, Date.now() - data.t);
    if (data.work) await sleep(data.work);
  }

  @MessagePattern('echo')
  echo(@Payload() data: unknown) {
    return data;
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}

const backendName = arg('backend', 'elasticmq') as 'elasticmq' | 'sqs';
const probes = arg('probes', 'fifo,close,backlog,pollers').split(',');
const backend = await resolveBackend(backendName);
if (!backend.available) throw new Error(`${backendName} is unavailable: ${backend.reason}`);
const config: SQSClientConfig = sqsClientConfig(backend.url, backendName === 'elasticmq' ? elasticMqRegion() : undefined);
const admin = new SQSClient(config);
const queues: string[] = [];
const apps = new Set<INestMicroservice>();

async function queue(name: string, attributes: Record<string, string>): Promise<string> {
  const fifo = attributes.FifoQueue === 'true';
  const out = await admin.send(new CreateQueueCommand({ QueueName: `probe-${name}-${Date.now().toString(36)}${fifo ? '.fifo' : ''}`, Attributes: attributes }));
  queues.push(out.QueueUrl!);
  return out.QueueUrl!;
}

async function app(options: Partial<SqsServerOptions> & { queues: string[] }): Promise<INestMicroservice> {
  const server = new SqsServer({ sqs: config, ...options });
  const created = await NestFactory.createMicroservice(ProbeModule, { strategy: server, logger: ['error'] });
  apps.add(created);
  await created.listen();
  const close = created.close.bind(created);
  created.close = () => (apps.delete(created), close());
  return created;
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!check() && Date.now() < deadline) await sleep(50);
  return check();
}

async function fifoProbe() {
  const url = await queue('fifo', { FifoQueue: 'true', VisibilityTimeout: '2' });
  const server = await app({ queues: [url], waitTimeSeconds: 1 });
  const client = new SqsClient({ queue: url, sqs: config });
  for (let i = 0; i < 4; i++) await firstValueFrom(client.emit('slow', new SqsRecord(i, { messageGroupId: 'g' })));
  await until(() => state.order.length >= 4, 60_000);
  await sleep(5_000); // redeliveries of expired messages would show by now
  const runs = [...state.runs.values()].reduce((a, b) => a + b, 0);
  console.log(
    `fifo: 4 messages in one group, VisibilityTimeout 2 s, 1.5 s handlers: ${runs} handler runs, ${runs - 4} duplicates, ` +
      `at most ${state.maxActive} at once, order ${JSON.stringify(state.order)}`,
  );
  await client.close();
  await server.close();
}

/** Events sent at `ratePerSec` (or all at once as a backlog) while servers close and restart `closes` times. */
async function closeProbe(label: string, { backlog, ratePerSec, runMs, work }: { backlog: number; ratePerSec: number; runMs: number; work: number }) {
  const visibility = 10;
  const url = await queue(label, { VisibilityTimeout: String(visibility) });
  const client = new SqsClient({ queue: url, sqs: config });
  let sent = 0;
  const send = () => firstValueFrom(client.emit('tick', { i: sent++, t: Date.now(), work }));
  state.arrivals.clear();
  await Promise.all(Array.from({ length: backlog }, send));
  let producing = ratePerSec > 0;
  const producer = (async () => {
    while (producing) {
      await send();
      await sleep(1000 / ratePerSec);
    }
  })();
  const closes = 5;
  for (let i = 0; i < closes; i++) {
    const server = await app({ queues: [url] });
    await sleep(runMs);
    await server.close();
  }
  producing = false;
  await producer;
  const last = await app({ queues: [url] });
  await until(() => state.arrivals.size >= sent, (visibility + 10) * 1000);
  await last.close();
  const delayed = [...state.arrivals.values()].filter((ms) => ms >= (visibility * 1000) / 2).length;
  console.log(
    `${label}: ${sent} events, ${closes} closes, VisibilityTimeout ${visibility} s: ${delayed} delayed ≥ ${visibility / 2} s ` +
      `(${(delayed / closes).toFixed(1)} per close), ${sent - state.arrivals.size} never arrived`,
  );
  await client.close();
}

async function pollersProbe() {
  const url = await queue('pollers', {});
  const server = await app({ queues: [url], pollers: 50, batchSize: 1, maxConcurrency: 100 });
  const client = new SqsClient({ queue: url, sqs: config });
  await client.connect();
  await sleep(1000); // every long poll is open
  const latencies: number[] = [];
  for (let i = 0; i < 5; i++) {
    const started = Date.now();
    await firstValueFrom(client.send('echo', i));
    latencies.push(Date.now() - started);
  }
  latencies.sort((a, b) => a - b);
  console.log(`pollers: 50 pollers, 5 requests one after another: reply latency ms ${JSON.stringify(latencies)} (median ${latencies[2]})`);
  await client.close();
  await server.close();
}

try {
  console.log(`SQS probes on ${backend.description}`);
  if (probes.includes('fifo')) await fifoProbe();
  if (probes.includes('close')) await closeProbe('close', { backlog: 0, ratePerSec: 20, runMs: 2000, work: 0 });
  if (probes.includes('backlog')) await closeProbe('backlog', { backlog: 200, ratePerSec: 0, runMs: 300, work: 100 });
  if (probes.includes('pollers')) await pollersProbe();
} finally {
  await Promise.allSettled([...apps].map((a) => a.close()));
  await Promise.allSettled(queues.map((QueueUrl) => admin.send(new DeleteQueueCommand({ QueueUrl }))));
  admin.destroy();
  await stopAllBackends();
}
