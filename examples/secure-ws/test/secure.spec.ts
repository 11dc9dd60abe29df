import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { firstValueFrom } from 'rxjs';
import selfsigned from 'selfsigned';
import { WsClient } from '@nest-transports/ws';
import { issueToken } from '../src/auth.js';
import { startAccountsService } from '../src/server.js';

const secret = new TextEncoder().encode('test-secret-that-is-long-enough-32b');
const transfer = { from: 'acc_abc123', to: 'acc_def456', amount: 2500, reference: 'rent' };

describe('secure WebSocket service: wss, JWT at the handshake, ValidationPipe', () => {
  let service: Awaited<ReturnType<typeof startAccountsService>>;
  let ca: string;
  const clients: WsClient[] = [];
  const client = (token?: string) => {
    const c = new WsClient({ url: service.url, tls: { ca }, token, reconnect: { enabled: false } });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
      keySize: 2048,
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    ca = pems.cert;
    service = await startAccountsService({ port: 0, tls: { key: pems.private, cert: pems.cert }, jwtSecret: secret });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await service.app.close();
  });

  it('serves a caller with a valid token over wss and knows who it is', async () => {
    const ws = client(await issueToken(secret, 'ada', 'transfers:write'));
    expect(service.url).toMatch(/^wss:\/\//);
    await expect(firstValueFrom(ws.send('accounts.transfer', transfer))).resolves.toEqual({ transferId: 'tr_abc123_def456_2500', by: 'ada' });
    await expect(firstValueFrom(ws.send('accounts.whoami', {}))).resolves.toMatchObject({ sub: 'ada', iss: 'https://auth.example.test' });
  });

  it.each([
    ['no token', async () => undefined],
    ['a token signed with another key', async () => issueToken(new TextEncoder().encode('another-secret-another-secret-32b'), 'eve', 'transfers:write')],
    ['an expired token', async () => issueToken(secret, 'ada', 'transfers:write', '-1m')],
    ['a malformed token', async () => 'not.a.jwt'],
  ])('refuses %s with HTTP 401 at the handshake', async (_what, token) => {
    const ws = client(await token());
    await expect(firstValueFrom(ws.send('accounts.transfer', transfer))).rejects.toThrow(/refused the handshake with HTTP 401: Authentication failed/);
  });

  it('refuses an authenticated caller without the scope, with a clear error', async () => {
    const ws = client(await issueToken(secret, 'bob', 'transfers:read'));
    await expect(firstValueFrom(ws.send('accounts.transfer', transfer))).rejects.toEqual({ code: 'FORBIDDEN', message: 'bob may not make transfers' });
  });

  it('rejects an invalid payload with the validation errors', async () => {
    const ws = client(await issueToken(secret, 'ada', 'transfers:write'));
    const err = await firstValueFrom(ws.send('accounts.transfer', { ...transfer, amount: -5, to: 'bank', extra: 1 })).catch((e) => e);
    expect(err.code).toBe('INVALID_PAYLOAD');
    expect(err.errors).toEqual(
      expect.arrayContaining(['amount must not be less than 1', 'to must match /^acc_[a-z0-9]{6}$/ regular expression', 'property extra should not exist']),
    );
  });

  it('refuses a client that does not trust the server certificate', async () => {
    const ws = new WsClient({ url: service.url, token: await issueToken(secret, 'ada', 'transfers:write'), reconnect: { enabled: false } });
    clients.push(ws);
    await expect(ws.connect()).rejects.toThrow(/self.signed certificate/);
  });
});
