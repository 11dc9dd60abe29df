import { messageOf, TransportError } from '@nest-transports/shared';

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

/** No Google credentials were found (`CREDENTIALS_MISSING`), or those found cannot sign in (`CREDENTIALS_INVALID`). */
export class PubSubCredentialsError extends TransportError {
  constructor(
    readonly transport: string,
    code: 'CREDENTIALS_MISSING' | 'CREDENTIALS_INVALID',
    cause: unknown,
  ) {
    const detail = messageOf(cause) ?? String(cause);
    super(
      code,
      code === 'CREDENTIALS_MISSING'
        ? `${transport}: no Google credentials were found (${detail}). Set the option clientConfig.keyFilename to a service-account key file ` +
            '(or clientConfig.credentials, or GOOGLE_APPLICATION_CREDENTIALS), or run where a service account is attached; ' +
            'for the emulator, set PUBSUB_EMULATOR_HOST or clientConfig { apiEndpoint, emulatorMode: true }.'
        : `${transport}: the Google credentials cannot be used (${detail}). Check the option clientConfig.keyFilename / clientConfig.credentials ` +
            '(or GOOGLE_APPLICATION_CREDENTIALS): a service-account key file as the console downloads it has "client_email" and "private_key".',
      { cause },
    );
  }
}

/** gRPC status code of a Google client error, if any. */
export const grpcCode = (err: unknown): number | undefined =>
  typeof (err as { code?: unknown })?.code === 'number' ? (err as { code: number }).code : undefined;

export const GrpcStatus = { DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6, UNAVAILABLE: 14 } as const;
