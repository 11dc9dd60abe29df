import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WsServer } from '@nest-transports/ws';
import { AccountsController } from './accounts.controller.js';
import { jwtAuthenticator } from './auth.js';

@Module({ controllers: [AccountsController] })
class AccountsModule {}

export interface SecureServerOptions {
  port: number;
  host?: string;
  tls: { key: string; cert: string };
  jwtSecret: Uint8Array;
}

/** The accounts service on wss:// with JWT authentication at the handshake. */
export async function startAccountsService({ port, host = '127.0.0.1', tls, jwtSecret }: SecureServerOptions) {
  const server = new WsServer({ host, port, tls, authenticate: jwtAuthenticator(jwtSecret), maxPayload: 64 * 1024 });
  const app = await NestFactory.createMicroservice(AccountsModule, { strategy: server, logger: ['error', 'warn'] });
  await app.listen();
  return { app, url: `wss://${host}:${server.address!.port}` };
}
