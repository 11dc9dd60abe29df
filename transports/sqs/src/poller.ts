import { ReceiveMessageCommand, type Message, type MessageSystemAttributeName, type SQSClient } from '@aws-sdk/client-sqs';

export interface ReceiveSettings {
  waitTimeSeconds: number;
  visibilityTimeout?: number;
  /** Message attributes to receive (names or `prefix.*`). Default: all. */
  messageAttributeNames?: string[];
  /** System attributes to receive; empty: none. Default: all. */
  systemAttributeNames?: MessageSystemAttributeName[];
}

/**
 * One long poll of a queue, as the receive of a shared `PullLoop`: the loop asks for as many
 * messages as it has free handler slots, and aborts the poll when it stops.
 */
export function queueReceiver(sqs: SQSClient, queueUrl: string, settings: ReceiveSettings) {
  const names = settings.systemAttributeNames ?? ['All'];
  const systemAttributes = names.length > 0 ? names : undefined;
  return async (max: number, abortSignal: AbortSignal): Promise<Message[]> => {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: max,
        WaitTimeSeconds: settings.waitTimeSeconds,
        VisibilityTimeout: settings.visibilityTimeout,
        MessageAttributeNames: settings.messageAttributeNames ?? ['All'],
        MessageSystemAttributeNames: systemAttributes,
      }),
      { abortSignal },
    );
    return out.Messages ?? [];
  };
}
