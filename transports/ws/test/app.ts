import { deferred } from '@nest-transports/shared';
import { scaled, within } from '@nest-transports/backends';
import { Controller, Module, type INestMicroservice, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WsClient, WsServer, type WsClientOptions, type WsServerOptions } from '../src/index.js';

/** Starts a Nest microservice with the given controllers on a WsServer bound to a free port. */
export async function startApp(controllers: Type[], options: WsServerOptions = {}) {
  @Module({ controllers })
  class AppModule {}
  const server = new WsServer({ host: '127.0.0.1', port: 0, ...options });
  const app: INestMicroservice = await NestFactory.createMicroservice(AppModule, { strategy: server, logger: false });
  await app.listen();
  const port = server.address?.port;
  const url = `${options.tls ? 'wss' : 'ws'}://127.0.0.1:${port}${options.path ?? ''}`;
  return { app, server, port: port!, url };
}

export function client(url: string, options: Partial<WsClientOptions> = {}) {
  return new WsClient({ url, ...options });
}

export { Controller };

export { scaled, within, deferred };
