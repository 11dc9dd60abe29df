import type { ClientProxy } from '@nestjs/microservices';

/** A `ClientProxy` class whose constructor takes one options object (every client of nest-transports). */
export type ClientClass = new (options: any) => ClientProxy;

/** The options object a client class's constructor takes. */
export type ClientOptionsOf<C extends ClientClass> = C extends new (options: infer O) => ClientProxy ? O : never;

/** A `ClientsModule` entry for a custom client, with its options typed by the client's constructor. */
export interface TypedClientProvider<C extends ClientClass> {
  customClass: C;
  options: ClientOptionsOf<C>;
}

/**
 * Types a `ClientsModule.register` / `registerAsync` entry by its `customClass`. Nest types the
 * `options` of a custom client as `Record<string, any>`, so a typo there compiles and only the
 * constructor's check catches it at start-up; through this function it is a compile error:
 *
 *     ClientsModule.register([clientProvider({ name: 'ORDERS', customClass: WsClient, options: { url } })]);
 *     useFactory: (config: ConfigService) => clientProvider({ customClass: WsClient, options: { url: config.get('URL') } }),
 *
 * It returns its argument unchanged.
 */
export function clientProvider<C extends ClientClass, N extends string | symbol | undefined = undefined>(
  provider: TypedClientProvider<C> & { name?: N },
): TypedClientProvider<C> & (N extends string | symbol ? { name: N } : unknown) {
  return provider as TypedClientProvider<C> & (N extends string | symbol ? { name: N } : unknown);
}
