/** Where a backend was found, or why it could not be. */
export type BackendName = 'redis' | 'nats' | 'mqtt' | 'amqp' | 'kafka' | 'sqs' | 'elasticmq' | 'pubsub';

export interface AvailableBackend {
  available: true;
  name: BackendName;
  /** Address clients use: a URL (`redis://…`, `amqp://…`, `http://…`) or `host:port` for Kafka/Pub/Sub. */
  url: string;
  /** How it was found: an address in the environment, the local service, an emulator/broker we started, a container. */
  via: 'env' | 'local' | 'emulator' | 'container';
  /** Human description, e.g. "Redis on 127.0.0.1:6379" or "fauxqs 1.9.2 in-process". */
  description: string;
  /** Environment variables that point a client or a child process at this backend. */
  env?: Record<string, string>;
}

export interface UnavailableBackend {
  available: false;
  name: BackendName;
  reason: string;
}

export type BackendResolution = AvailableBackend | UnavailableBackend;

/** A resolution; `stop` is set when this process started the backend (stopping it is for the run's end). */
export type ResolvedBackend = BackendResolution & { stop?: () => Promise<void> };
