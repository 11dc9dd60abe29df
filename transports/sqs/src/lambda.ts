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

/** The DNS suffix of each AWS partition (as the SDK's endpoint rules list them). */
const PARTITION_DNS: Record<string, string> = {
  aws: 'amazonaws.com',
  'aws-cn': 'amazonaws.com.cn',
  'aws-us-gov': 'amazonaws.com',
  'aws-eusc': 'amazonaws.eu',
  'aws-iso': 'c2s.ic.gov',
  'aws-iso-b': 'sc2s.sgov.gov',
  'aws-iso-e': 'cloud.adc-e.uk',
  'aws-iso-f': 'csp.hci.ic.gov',
};

/**
 * `arn:PARTITION:sqs:REGION:ACCOUNT:NAME` → the queue's URL in that partition:
 * `https://sqs.cn-north-1.amazonaws.com.cn/…` for China, `https://sqs.us-gov-west-1.amazonaws.com/…` for GovCloud.
 */
export function queueUrlFromArn(arn: string): string {
  const [, partition, , region, account, name] = arn.split(':');
  return `https://sqs.${region}.${PARTITION_DNS[partition] ?? 'amazonaws.com'}/${account}/${name}`;
}
