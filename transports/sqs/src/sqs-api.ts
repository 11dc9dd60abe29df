import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient, type QueueAttributeName, type SQSClientConfig } from '@aws-sdk/client-sqs';
import { BackendUnreachableError, InvalidOptionError, TransportError } from '@nest-transports/shared';

/** How long resolving a queue at listen()/connect() may take before it fails. */
const RESOLVE_TIMEOUT_MS = 15_000;

export class QueueNotFoundError extends TransportError {
  constructor(transport: string, queue: string, region: string) {
    super(
      'QUEUE_NOT_FOUND',
      `${transport}: queue "${queue}" does not exist in region ${region}. ` +
        'Create it (or fix the name, URL or region); the transport does not create the queues it consumes.',
    );
  }
}

export class SqsAccessError extends TransportError {
  constructor(transport: string, queue: string, cause: unknown) {
    const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(
      'SQS_ACCESS_DENIED',
      `${transport}: not allowed to use queue "${queue}" (${detail}). Check the credentials, the region and the IAM ` +
        'permissions (sqs:GetQueueUrl, GetQueueAttributes, ReceiveMessage, DeleteMessage, ChangeMessageVisibility, SendMessage).',
      { cause },
    );
  }
}

export class SqsCredentialsExpiredError extends TransportError {
  constructor(transport: string, queue: string, cause: unknown) {
    const detail = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(
      'SQS_CREDENTIALS_EXPIRED',
      `${transport}: the session credentials used for queue "${queue}" have expired (${detail}). Temporary credentials ` +
        "(a role, SSO, a session token) must be refreshed: leave `credentials` unset so that the SDK's default chain " +
        'renews them, or pass a provider function (e.g. fromTemporaryCredentials() or fromNodeProviderChain() of ' +
        '@aws-sdk/credential-providers) instead of a fixed { accessKeyId, secretAccessKey, sessionToken } object.',
      { cause },
    );
  }
}

/**
 * What the transport needs of an SQS client: the AWS SDK v3 `send(command, { abortSignal })`. Any copy or
 * version of `SQSClient` has it — an app's own copy of `@aws-sdk/client-sqs` need not be the one this
 * package resolves — and so does a wrapper around one. Recognised by that method, never by its class.
 */
export interface SqsClientLike {
  send(command: any, options?: any): Promise<any>;
}

/** The `sqs` option: a client to use as is, or the config of one the transport creates (and destroys). */
export type SqsOption = SqsClientLike | SQSClientConfig;

export const isSqsClientLike = (option: unknown): option is SqsClientLike => typeof (option as SqsClientLike | undefined)?.send === 'function';

/** Connections an owned client keeps beyond its long polls, for sends, deletes and visibility changes. */
const SETTLE_SOCKETS = 50;
/** The fewest connections a given client must have left once its long polls are open. */
const MIN_FREE_SOCKETS = 10;

/**
 * The client to use: the one given, or a new one from the config. A created client's connection pool
 * holds `longPolls` connections for the long polls plus 50 for everything else, so that polls can
 * never starve deletes, visibility extensions and replies (the SDK's default pool is 50 connections).
 */
export function createSqsClient(option: SqsOption | undefined, longPolls = 0): { client: SQSClient; owned: boolean } {
  // A client of any SDK copy is used as is: it is called only through send().
  if (isSqsClientLike(option)) return { client: option as unknown as SQSClient, owned: false };
  return { client: new SQSClient({ ...option, requestHandler: handlerOptions(option?.requestHandler, longPolls + SETTLE_SOCKETS) }), owned: true };
}

/** Request handler options with a connection timeout and a pool of `maxSockets`, unless the config sets them (or is a handler). */
function handlerOptions(handler: SQSClientConfig['requestHandler'], maxSockets: number): SQSClientConfig['requestHandler'] {
  if (typeof (handler as { handle?: unknown } | undefined)?.handle === 'function') return handler; // a handler instance: its own pool
  const options = (handler ?? {}) as { httpAgent?: unknown; httpsAgent?: unknown };
  // An Agent instance keeps its own pool; agent options get ours unless they set maxSockets.
  const agent = (given: unknown) =>
    typeof (given as { destroy?: unknown } | undefined)?.destroy === 'function' ? given : { maxSockets, ...(given as object) };
  // Without a connection timeout an unreachable endpoint makes the first call hang.
  return {
    connectionTimeout: 5_000,
    ...options,
    httpAgent: agent(options.httpAgent),
    httpsAgent: agent(options.httpsAgent),
  } as SQSClientConfig['requestHandler'];
}

/**
 * The most connections `sqs` opens to `endpointUrl`, when its request handler says (the SDK's Node
 * handler, once it has made a call); undefined for handlers that do not tell.
 */
export function connectionLimit(sqs: SQSClient, endpointUrl: string): number | undefined {
  const handler = (sqs as { config?: { requestHandler?: unknown } }).config?.requestHandler as { httpHandlerConfigs?: () => Record<string, any> } | undefined;
  if (typeof handler?.httpHandlerConfigs !== 'function') return undefined;
  const configs = handler.httpHandlerConfigs();
  const agent = endpointUrl.startsWith('https:') ? configs.httpsAgent : configs.httpAgent;
  const max = agent?.maxSockets;
  return typeof max === 'number' && Number.isFinite(max) ? max : undefined;
}

/**
 * Checks that the long polls leave connections free for deletes, visibility extensions and replies
 * (a client the transport creates is sized for them; one passed in, or a config with a smaller pool, may not be).
 */
export function checkConnectionPool(sqs: SQSClient, transport: string, queueUrl: string, pollers: number, queues: number): void {
  const limit = connectionLimit(sqs, queueUrl);
  const longPolls = pollers * queues;
  if (limit === undefined || longPolls + MIN_FREE_SOCKETS <= limit) return;
  throw new InvalidOptionError(
    transport,
    'pollers',
    `is ${pollers} per queue × ${queues} queue(s) = ${longPolls} long polls, and the SQS client passed in "sqs" opens at most ${limit} connections: ` +
      'long polls would hold them all, and deletes, visibility extensions and replies would wait for a poll to end (up to 20 s)',
    `Use at most ${Math.max(1, Math.floor((limit - MIN_FREE_SOCKETS) / queues))} pollers, or give the client ${longPolls + MIN_FREE_SOCKETS}+ connections ` +
      `(new SQSClient({ requestHandler: { httpsAgent: { maxSockets: ${longPolls + SETTLE_SOCKETS} } } })), or pass a config instead of a client.`,
  );
}

export interface QueueInfo {
  url: string;
  fifo: boolean;
  /** The queue's visibility timeout in seconds. */
  visibilityTimeout: number;
}

const isUrl = (queue: string) => /^https?:\/\//.test(queue);

/** Finds a queue by URL or name and reads what the transport needs, with errors that say what to fix. */
export async function resolveQueue(sqs: SQSClient, transport: string, queue: string): Promise<QueueInfo> {
  const abortSignal = AbortSignal.timeout(RESOLVE_TIMEOUT_MS);
  try {
    const url = isUrl(queue) ? queue : (await sqs.send(new GetQueueUrlCommand({ QueueName: queue }), { abortSignal })).QueueUrl!;
    const names: QueueAttributeName[] = ['VisibilityTimeout', 'FifoQueue'];
    const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: names }), { abortSignal });
    return { url, fifo: Attributes.FifoQueue === 'true' || url.endsWith('.fifo'), visibilityTimeout: Number(Attributes.VisibilityTimeout ?? 30) };
  } catch (err) {
    throw await explain(sqs, transport, queue, err);
  }
}

/** The client's region, where it tells (an SDK client does; a wrapper may not). */
async function regionOf(sqs: SQSClient): Promise<string> {
  const region = (sqs as { config?: { region?: unknown } }).config?.region;
  try {
    const value = typeof region === 'function' ? await region() : region;
    return typeof value === 'string' && value ? value : 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function explain(sqs: SQSClient, transport: string, queue: string, err: unknown): Promise<Error> {
  if (err instanceof TransportError) return err;
  const name = (err as Error)?.name ?? '';
  const code = (err as { code?: string; Code?: string })?.code ?? (err as { Code?: string })?.Code ?? '';
  if (name === 'QueueDoesNotExist' || name.includes('NonExistentQueue')) {
    return new QueueNotFoundError(transport, queue, await regionOf(sqs));
  }
  if (/ExpiredToken|RequestExpired|TokenRefreshRequired/i.test(`${name} ${code}`)) return new SqsCredentialsExpiredError(transport, queue, err);
  if (/AccessDenied|InvalidClientTokenId|UnrecognizedClient|SignatureDoesNotMatch|Credentials|InvalidSecurity/i.test(name)) {
    return new SqsAccessError(transport, queue, err);
  }
  const text = `${code} ${name} ${(err as Error)?.message ?? ''}`;
  if (name === 'TimeoutError' || name === 'AbortError' || /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|socket hang up/.test(text)) {
    return new BackendUnreachableError(transport, `SQS for queue "${queue}"`, err);
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** The queue is gone (deleted, or never existed): sending to it can never succeed. */
export const isMissingQueue = (err: unknown) => /QueueDoesNotExist|NonExistentQueue/.test((err as Error)?.name ?? '');

/** A queue's backlog as SQS counts it (approximate): visible, in flight (received, not deleted), delayed. */
export async function queueBacklog(sqs: SQSClient, transport: string, url: string, abortSignal: AbortSignal) {
  const names: QueueAttributeName[] = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'];
  try {
    const { Attributes = {} } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: names }), { abortSignal });
    return {
      visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
      inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
      delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
    };
  } catch (err) {
    throw await explain(sqs, transport, url, err);
  }
}
