import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient, type QueueAttributeName, type SQSClientConfig } from '@aws-sdk/client-sqs';
import { BackendUnreachableError, TransportError } from '@nest-transports/shared';

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

export function createSqsClient(option: SQSClient | SQSClientConfig | undefined): { client: SQSClient; owned: boolean } {
  if (option instanceof SQSClient) return { client: option, owned: false };
  // Without a connection timeout an unreachable endpoint makes the first call hang.
  const config: SQSClientConfig = { requestHandler: { connectionTimeout: 5_000 }, ...option };
  return { client: new SQSClient(config), owned: true };
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

export async function explain(sqs: SQSClient, transport: string, queue: string, err: unknown): Promise<Error> {
  const name = (err as Error)?.name ?? '';
  const code = (err as { code?: string })?.code ?? '';
  if (name === 'QueueDoesNotExist' || name.includes('NonExistentQueue')) {
    const region = await sqs.config.region().catch(() => 'unknown');
    return new QueueNotFoundError(transport, queue, region);
  }
  if (/AccessDenied|InvalidClientTokenId|UnrecognizedClient|SignatureDoesNotMatch|Credentials|InvalidSecurity/i.test(name)) {
    return new SqsAccessError(transport, queue, err);
  }
  const text = `${code} ${name} ${(err as Error)?.message ?? ''}`;
  if (name === 'TimeoutError' || name === 'AbortError' || /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|socket hang up/.test(text)) {
    return new BackendUnreachableError(transport, `SQS for queue "${queue}"`, err);
  }
  return err instanceof Error ? err : new Error(String(err));
}
