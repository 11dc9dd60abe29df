import type { Outcome } from '@nest-transports/shared';
import type { PubSubInboundMessage } from './context.js';

/** What a push endpoint answers: 2xx acks the message, anything else makes Pub/Sub retry it. */
export interface PubSubPushResult {
  status: 204 | 400 | 500;
  outcome: Outcome;
}

/** The JSON body Pub/Sub POSTs to a push endpoint (wrapped format). */
export interface PubSubPushRequest {
  subscription: string;
  deliveryAttempt?: number;
  message: {
    data?: string;
    attributes?: Record<string, string>;
    messageId?: string;
    message_id?: string;
    publishTime?: string;
    orderingKey?: string;
  };
}

export function parsePushRequest(body: unknown): { subscription: string; message: PubSubInboundMessage } | { error: Error } {
  const request = body as Partial<PubSubPushRequest> | undefined;
  const message = request?.message;
  if (!message || typeof message !== 'object' || typeof request?.subscription !== 'string') {
    return { error: new Error('not a Pub/Sub push request: expected { message, subscription }') };
  }
  return {
    subscription: request.subscription,
    message: {
      id: message.messageId ?? message.message_id ?? '',
      data: Buffer.from(message.data ?? '', 'base64'),
      attributes: message.attributes ?? {},
      orderingKey: message.orderingKey,
      deliveryAttempt: request.deliveryAttempt,
      publishTime: message.publishTime ? new Date(message.publishTime) : undefined,
    },
  };
}
