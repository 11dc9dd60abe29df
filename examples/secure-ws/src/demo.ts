import { readFileSync } from 'node:fs';
import { firstValueFrom } from 'rxjs';
import selfsigned from 'selfsigned';
import { WsClient } from '@nest-transports/ws';
import { issueToken } from './auth.js';
import { startAccountsService } from './server.js';

/** TLS from TLS_KEY_FILE/TLS_CERT_FILE, or a throwaway self-signed certificate for the demo. */
async function tlsMaterial() {
  if (process.env.TLS_KEY_FILE && process.env.TLS_CERT_FILE) {
    return { key: readFileSync(process.env.TLS_KEY_FILE, 'utf8'), cert: readFileSync(process.env.TLS_CERT_FILE, 'utf8') };
  }
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  return { key: pems.private, cert: pems.cert };
}

const secret = new TextEncoder().encode(process.env.JWT_SECRET ?? 'demo-secret-change-me-at-least-32-bytes!');
const tls = await tlsMaterial();
const { app, url } = await startAccountsService({ port: Number(process.env.PORT ?? 0), tls, jwtSecret: secret });
const call = async (label: string, token: string | undefined, data: object) => {
  const client = new WsClient({ url, tls: { ca: tls.cert }, token, reconnect: { enabled: false } });
  try {
    console.log(`${label}:`, JSON.stringify(await firstValueFrom(client.send('accounts.transfer', data))));
  } catch (err) {
    console.log(`${label}: refused:`, (err as Error).message ?? JSON.stringify(err));
  } finally {
    await client.close();
  }
};

const transfer = { from: 'acc_abc123', to: 'acc_def456', amount: 2500, reference: 'rent' };
await call('valid token', await issueToken(secret, 'ada', 'transfers:write'), transfer);
await call('no token', undefined, transfer);
await call('forged token', await issueToken(new TextEncoder().encode('not-the-secret-not-the-secret!!'), 'eve', 'transfers:write'), transfer);
await call('read-only token', await issueToken(secret, 'bob', 'transfers:read'), transfer);
await call('invalid payload', await issueToken(secret, 'ada', 'transfers:write'), { ...transfer, amount: -5, extra: 'x' });
await app.close();
