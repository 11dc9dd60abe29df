import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { IncomingMessage } from 'node:http';
import { firstValueFrom } from 'rxjs';
import selfsigned from 'selfsigned';
import { client, startApp } from './app.js';
import { TestController } from './handlers.js';

async function certificate() {
  return selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
}

const TOKENS: Record<string, { user: string }> = { 'good-token': { user: 'ada' } };

/** Accepts `Authorization: Bearer <known token>`; anything else is refused with 401. */
function authenticate(request: IncomingMessage) {
  const token = request.headers.authorization?.replace(/^Bearer /, '');
  return (token && TOKENS[token]) || false;
}

describe('wss:// with an authentication hook', () => {
  let started: Awaited<ReturnType<typeof startApp>>;
  let ca: string;

  beforeAll(async () => {
    const pems = await certificate();
    ca = pems.cert;
    started = await startApp([TestController], { tls: { key: pems.private, cert: pems.cert }, authenticate });
  });
  afterAll(() => started.app.close());

  it('serves an authenticated client over TLS and exposes the auth result in WsContext', async () => {
    const ws = client(started.url, { tls: { ca }, token: 'good-token' });
    try {
      expect(started.url.startsWith('wss://')).toBe(true);
      await expect(firstValueFrom(ws.send('sum', [20, 22]))).resolves.toBe(42);
      const ctx = (await firstValueFrom(ws.send('context', {}))) as { auth: unknown };
      expect(ctx.auth).toEqual({ user: 'ada' });
    } finally {
      await ws.close();
    }
  });

  it('takes the token from a function called on each handshake', async () => {
    let calls = 0;
    const ws = client(started.url, { tls: { ca }, token: async () => (calls++, 'good-token') });
    try {
      await expect(firstValueFrom(ws.send('sum', [1]))).resolves.toBe(1);
      expect(calls).toBe(1);
    } finally {
      await ws.close();
    }
  });

  it('refuses a bad token with HTTP 401: the connection never opens', async () => {
    const rejected: number[] = [];
    let accepted = 0;
    started.server.on('rejected', (_req, status) => rejected.push(status));
    started.server.on('connection', () => accepted++);
    const ws = client(started.url, { tls: { ca }, token: 'forged', reconnect: { enabled: false } });
    try {
      await expect(ws.connect()).rejects.toThrow(/refused the handshake with HTTP 401: Authentication failed/);
      await expect(firstValueFrom(ws.send('sum', [1]))).rejects.toThrow(/HTTP 401/);
      expect(rejected).toContain(401);
      expect(accepted).toBe(0);
    } finally {
      await ws.close();
    }
  });

  it('refuses a client that does not trust the certificate', async () => {
    const ws = client(started.url, { token: 'good-token' });
    try {
      await expect(ws.connect()).rejects.toThrow(/cannot reach wss:\/\/127\.0\.0\.1:\d+: self.signed certificate/);
    } finally {
      await ws.close();
    }
  });
});
