import { describe, expect, it } from '@jest/globals';
import { fork } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deferred } from '@nest-transports/shared';
import { within } from '@nest-transports/backends';

const FIXTURE = fileURLToPath(new URL('./fixtures/bad-credentials.mjs', import.meta.url));

/** Runs the fixture app with no Google credentials in its environment: its output lines and exit code. */
async function runApp(clientConfig: Record<string, unknown>): Promise<{ code: number | null; reports: Array<Record<string, string>>; output: string }> {
  const home = mkdtempSync(join(tmpdir(), 'pubsub-creds-')); // no gcloud application-default credentials
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, METADATA_SERVER_DETECTION: 'none' };
  const child = fork(FIXTURE, [JSON.stringify(clientConfig)], { env, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let output = '';
  child.stdout!.on('data', (d) => (output += String(d)));
  child.stderr!.on('data', (d) => (output += String(d)));
  const exited = deferred<number | null>();
  child.once('exit', (code) => exited.resolve(code));
  try {
    const code = await within(exited.promise, 60_000, 'the app to end by itself').catch((err) => {
      throw new Error(`${err.message}; it printed: ${output || '(nothing)'}`);
    });
    const reports = output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line));
    return { code, reports, output };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}

describe('PubSub with credentials that cannot work (an app in its own process)', () => {
  it('fails listen() and connect() naming the option and the fix when there are no credentials, and the app lives on', async () => {
    const { code, reports, output } = await runApp({});
    expect(`exit ${code}: ${output}`).toMatch(/^exit 0/); // exit 1: an unhandled rejection after the caught error
    expect(reports).toEqual([
      expect.objectContaining({ where: 'listen', name: 'PubSubCredentialsError', code: 'CREDENTIALS_MISSING' }),
      expect.objectContaining({ where: 'connect', name: 'PubSubCredentialsError', code: 'CREDENTIALS_MISSING' }),
    ]);
    expect(reports[0].message).toMatch(
      /^PubSubServer: no Google credentials were found .*clientConfig\.keyFilename.*GOOGLE_APPLICATION_CREDENTIALS.*PUBSUB_EMULATOR_HOST/,
    );
  }, 70_000);

  it('says what is wrong with a key file that has no private_key', async () => {
    const keyFile = join(mkdtempSync(join(tmpdir(), 'pubsub-key-')), 'key.json');
    writeFileSync(keyFile, JSON.stringify({ type: 'service_account', client_email: 'svc@nest-transports-test.iam.gserviceaccount.com' }));
    const { code, reports, output } = await runApp({ keyFilename: keyFile });
    expect(`exit ${code}: ${output}`).toMatch(/^exit 0/);
    expect(reports.map((r) => [r.where, r.code])).toEqual([
      ['listen', 'CREDENTIALS_INVALID'],
      ['connect', 'CREDENTIALS_INVALID'],
    ]);
    expect(reports[0].message).toMatch(/private_key.*clientConfig\.keyFilename.*"client_email" and "private_key"/);
  }, 70_000);
});
