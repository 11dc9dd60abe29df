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

/** Set when the environment names credentials for the SDK's default chain (keys, a profile, web identity, a container role). */
const CREDENTIALS_ENV = [
  'AWS_ACCESS_KEY_ID',
  'AWS_PROFILE',
  'AWS_WEB_IDENTITY_TOKEN_FILE',
  'AWS_CONTAINER_CREDENTIALS_FULL_URI',
  'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
];

/**
 * The `SQSClientConfig` for an SQS endpoint, so that the same tests run on an emulator or on real AWS
 * by the environment alone: the region is AWS_REGION (or AWS_DEFAULT_REGION), else `fallbackRegion`;
 * credentials come from the SDK's default chain when the environment names any, else a placeholder
 * key that emulators accept.
 */
export function sqsClientConfig(endpoint: string, fallbackRegion = 'us-east-1') {
  const region = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || fallbackRegion;
  const named = CREDENTIALS_ENV.some((name) => process.env[name]);
  return { endpoint, region, ...(named ? {} : { credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }) };
}
