// Small transports built on Nest's TCP transporter, each with one trait a third-party transport
// can have, for the suite's own tests.
import type { OnApplicationBootstrap } from '@nestjs/common';
import { ClientTCP, ClientsModule, ServerTCP, Transport, type Deserializer, type Serializer } from '@nestjs/microservices';
import { map, NEVER, throwError, type Observable } from 'rxjs';
import { defineTransport, type TransportDescriptor } from '../src/descriptor.js';

const HOST = '127.0.0.1';

export const fake = (over: Partial<TransportDescriptor> = {}): TransportDescriptor =>
  defineTransport({
    name: 'fake',
    kind: 'custom',
    backend: 'none',
    capabilities: ['requestResponse', 'events'],
    resolve: async () => ({ available: true, description: 'none' }),
    server: (env, codecs) => ({ transport: Transport.TCP, options: { host: HOST, port: env.port, ...codecs } }),
    client: (env, codecs) => new ClientTCP({ host: HOST, port: env.port, ...codecs }),
    ...over,
  });

/** Its client wraps every reply value in `{ data, via }`. */
export class EnvelopeClient extends ClientTCP {
  override send<T = any>(pattern: unknown, data: unknown): Observable<T> {
    return super.send(pattern, data).pipe(map((value) => ({ data: value, via: 'envelope' }) as T));
  }
}

/** Its client never delivers the reply to a request whose data is a multiple of 100: a lost reply. */
export class LossyClient extends ClientTCP {
  override send<T = any>(pattern: unknown, data: unknown): Observable<T> {
    return typeof data === 'number' && data > 0 && data % 100 === 0 ? NEVER : super.send(pattern, data);
  }
}

/** Its client works only once the Nest app hosting it ran onApplicationBootstrap. */
export class BootstrapClient extends ClientTCP implements OnApplicationBootstrap {
  private bootstrapped = false;

  async onApplicationBootstrap(): Promise<void> {
    this.bootstrapped = true;
    await this.connect();
  }

  override send<T = any>(pattern: unknown, data: unknown): Observable<T> {
    return this.bootstrapped ? super.send(pattern, data) : throwError(() => new Error('BootstrapClient: not started by a Nest app'));
  }
}

export const BOOTSTRAP_CLIENT = 'BOOTSTRAP_CLIENT';
export const bootstrapClientModule = (port: number, codecs = {}) =>
  ClientsModule.register([{ name: BOOTSTRAP_CLIENT, customClass: BootstrapClient, options: { host: HOST, port, ...codecs } } as any]);

/** Default codecs that tag what goes on the wire and refuse untagged input: a transport with codecs of its own. */
const tagging = (): Serializer => ({ serialize: (packet: unknown) => ({ tagged: true, packet }) });
const untagging = (): Deserializer => ({
  deserialize(value: any) {
    if (!value?.tagged) throw new Error(`untagged input: ${JSON.stringify(value)}`);
    return value.packet;
  },
});

export class TaggedServer extends ServerTCP {
  protected override initializeSerializer(options: any): void {
    this.serializer = options?.serializer ?? tagging();
  }
  protected override initializeDeserializer(options: any): void {
    this.deserializer = options?.deserializer ?? untagging();
  }
}

export class TaggedClient extends ClientTCP {
  protected override initializeSerializer(options: any): void {
    this.serializer = options?.serializer ?? tagging();
  }
  protected override initializeDeserializer(options: any): void {
    this.deserializer = options?.deserializer ?? untagging();
  }
}

/** Its close() leaves a rejection nobody handles (as ServerRMQ does with an unconfirmed reply). */
export class LeakyServer extends ServerTCP {
  override async close(): Promise<void> {
    void Promise.reject(new Error('leaked while closing'));
    await super.close();
  }
}

/** Its close() throws. */
export class ThrowingClient extends ClientTCP {
  override async close(): Promise<void> {
    await super.close();
    throw new Error('close refused');
  }
}
