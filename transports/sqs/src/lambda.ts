import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';

/** One record of an AWS Lambda SQS event (the shape Lambda passes, camel-cased). */
export interface SqsLambdaRecord {
  messageId: string;
  receiptHandle: string;
  body: string;
  attributes: Record<string, string>;
  messageAttributes: Record<string, { dataType: string; stringValue?: string; binaryValue?: string }>;
  eventSourceARN: string;
}

export interface SqsLambdaEvent {
  Records: SqsLambdaRecord[];
}

/** What a Lambda with `ReportBatchItemFailures` returns: the records to leave on the queue. */
export interface SqsBatchResponse {
  batchItemFailures: Array<{ itemIdentifier: string }>;
}

/** The SDK `Message` a Lambda record stands for, so the same processing serves both. */
export function toSqsMessage(record: SqsLambdaRecord): Message {
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(record.messageAttributes ?? {})) {
    attributes[name] = {
      DataType: value.dataType,
      StringValue: value.stringValue,
      BinaryValue: value.binaryValue === undefined ? undefined : Buffer.from(value.binaryValue, 'base64'),
    };
  }
  return {
    MessageId: record.messageId,
    ReceiptHandle: record.receiptHandle,
    Body: record.body,
    Attributes: record.attributes,
    MessageAttributes: attributes,
  };
}

/** `arn:aws:sqs:REGION:ACCOUNT:NAME` → the queue's URL. */
export function queueUrlFromArn(arn: string): string {
  const [, , , region, account, name] = arn.split(':');
  return `https://sqs.${region}.amazonaws.com/${account}/${name}`;
}
