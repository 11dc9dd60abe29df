import type { AddressInfo } from 'node:net';
import type { ResolvedBackend } from './types.js';

export interface FauxqsInstance {
  /** `http://127.0.0.1:PORT`: pass it as `endpoint` to every SQSClient. */
  endpoint: string;
  stop(): Promise<void>;
}

/**
 * Starts fauxqs in this process on a free port of 127.0.0.1. (fauxqs' own startFauxqs() binds
 * 0.0.0.0; buildApp() lets us choose the interface.) Its queue URLs use the host
 * sqs.us-east-1.localhost, which does not resolve: clients must always pass `endpoint` and keep
 * queue URLs exactly as returned.
 */
export async function startFauxqs(): Promise<FauxqsInstance> {
  const { buildApp } = await import('fauxqs');
  const app = buildApp({ logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, stop: () => app.close() };
}

/** SQS_ENDPOINT, else fauxqs in-process. */
export async function resolveSqs(): Promise<ResolvedBackend> {
  const fromEnv = process.env.SQS_ENDPOINT;
  if (fromEnv) {
    return { available: true, name: 'sqs', url: fromEnv, via: 'env', description: `SQS at SQS_ENDPOINT=${fromEnv}`, env: { SQS_ENDPOINT: fromEnv } };
  }
  try {
    const started = Date.now();
    const fauxqs = await startFauxqs();
    return {
      available: true,
      name: 'sqs',
      url: fauxqs.endpoint,
      via: 'emulator',
      description: `fauxqs 1.9.2 in-process on ${fauxqs.endpoint}, started in ${Date.now() - started} ms`,
      env: { SQS_ENDPOINT: fauxqs.endpoint },
      stop: fauxqs.stop,
    };
  } catch (err) {
    return { available: false, name: 'sqs', reason: `SQS_ENDPOINT is not set and fauxqs could not start: ${err.message}` };
  }
}
