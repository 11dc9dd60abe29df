import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { NestFactory } from '@nestjs/core';
import type { ClientProxy } from '@nestjs/microservices';
import { firstValueFrom, lastValueFrom, timeout } from 'rxjs';
import { ORDERS, type StartedTransport } from './orders.js';
import { startJetStream } from './jetstream.js';
import { startRedisStreams } from './redis-streams.js';
import { startPubSub } from './pubsub.js';
import { startSqs } from './sqs.js';
import { startWs } from './ws.js';

/** Generous: the Pub/Sub emulator on a busy 2-core machine takes ~50 ms a hop, more under load. */
const WAIT_MS = 30_000;

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

async function settle(promise: Promise<unknown>): Promise<Settled> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? { name: error.name, message: error.message } : error };
  }
}

const START: Record<string, (runId: string) => Promise<StartedTransport>> = {
  ws: startWs,
  sqs: startSqs,
  pubsub: startPubSub,
  jetstream: startJetStream,
  'redis-streams': startRedisStreams,
};

/** Runs request-response, an event and an RpcException over one transport; prints one RESULT line. */
async function main(): Promise<void> {
  const transport = process.argv[2] ?? '';
  const start = START[transport];
  if (!start) throw new Error(`usage: node dist/main.js ${Object.keys(START).join('|')}`);
  const runId = `${transport}-${process.pid}-${Date.now().toString(36)}`;
  const server = await start(runId);
  const clientApp = await NestFactory.createApplicationContext(server.clientModule, { logger: ['error', 'warn'] });
  const client = clientApp.get<ClientProxy>(ORDERS);
  const result: Record<string, unknown> = {
    transport,
    node: process.version,
    moduleSystem: typeof require === 'function' ? 'commonjs' : 'esm',
    nest: JSON.parse(readFileSync(path.join(process.cwd(), 'node_modules/@nestjs/core/package.json'), 'utf8')).version,
  };

  result.requestResponse = await settle(firstValueFrom(client.send('orders.total', [1, 2, 3]).pipe(timeout(WAIT_MS))));
  const seen = server.events.next(WAIT_MS);
  result.emit = await settle(lastValueFrom(client.emit('orders.created', { id: runId, items: [4] }), { defaultValue: undefined }));
  result.event = await settle(seen);
  result.rpcException = await settle(firstValueFrom(client.send('orders.total', []).pipe(timeout(WAIT_MS))));

  const closing = Date.now();
  await clientApp.close();
  await server.close();
  result.closeMs = Date.now() - closing;
  console.log(`RESULT ${JSON.stringify(result)}`);
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
