import { TransportError } from '@nest-transports/shared';

/** A topic or subscription the transport was told to use does not exist. */
export class PubSubResourceMissingError extends TransportError {
  constructor(
    readonly transport: string,
    readonly kind: 'topic' | 'subscription',
    readonly resource: string,
  ) {
    const create =
      kind === 'topic' ? `gcloud pubsub topics create ${shortName(resource)}` : `gcloud pubsub subscriptions create ${shortName(resource)} --topic=TOPIC`;
    super(
      'RESOURCE_MISSING',
      `${transport}: the ${kind} "${resource}" does not exist. Create it (${create}), ` +
        'or set the option autoCreate: true to have the transport create it at start-up.',
    );
  }
}

const shortName = (name: string) => name.split('/').pop() ?? name;

/** gRPC status code of a Google client error, if any. */
export const grpcCode = (err: unknown): number | undefined =>
  typeof (err as { code?: unknown })?.code === 'number' ? (err as { code: number }).code : undefined;

export const GrpcStatus = { DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6, UNAVAILABLE: 14 } as const;
