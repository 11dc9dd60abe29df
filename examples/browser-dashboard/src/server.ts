import 'reflect-metadata';
import { Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { WsServer } from '@nest-transports/ws';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { MetricsController } from './metrics.controller.js';

@Module({ controllers: [MetricsController] })
class DashboardModule {}

const PUBLIC = fileURLToPath(new URL('../public/', import.meta.url));
const BROWSER_CLIENT = fileURLToPath(new URL('../../../transports/ws/dist/browser/', import.meta.url));

/** The page and the browser client over HTTP, the microservice over WebSocket at /rpc — one port. */
export async function startDashboard(port = 0, host = '127.0.0.1'): Promise<{ url: string; http: Server; app: INestMicroservice }> {
  const http = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    try {
      if (path === '/') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return res.end(await readFile(`${PUBLIC}index.html`));
      }
      const name = path.match(/^\/client\/([\w.-]+\.js)$/)?.[1];
      if (name) {
        res.writeHead(200, { 'content-type': 'text/javascript' });
        return res.end(await readFile(BROWSER_CLIENT + name));
      }
      res.writeHead(404).end('not found');
    } catch {
      res.writeHead(500).end('cannot read the file; run `npm run build` first');
    }
  });
  const app = await NestFactory.createMicroservice(DashboardModule, { strategy: new WsServer({ server: http, path: '/rpc' }), logger: ['error', 'warn'] });
  await app.listen();
  await new Promise<void>((resolve) => http.listen(port, host, resolve));
  const { port: bound } = http.address() as AddressInfo;
  return { url: `http://${host}:${bound}/`, http, app };
}
