import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startApp, within } from './app.js';
import { seen, TestController } from './handlers.js';

const CHROMIUM = '/usr/bin/chromium';
const BUNDLE_DIR = fileURLToPath(new URL('../dist/browser/', import.meta.url));
const MSGPACKR_UMD = fileURLToPath(import.meta.resolve('msgpackr').replace(/[^/]+$/, 'dist/index.js'));
const available = existsSync(CHROMIUM);
// Under CI the browser test must run (.ci/install-system.sh installs Chromium).
const describeBrowser = available || process.env.CI === 'true' ? describe : describe.skip;

declare global {
  interface Window {
    client: import('../browser/index.js').WsBrowserClient;
    lib: typeof import('../browser/index.js');
  }
}

/** Serves the compiled browser client and an empty page on 127.0.0.1. */
async function servePage(): Promise<{ server: Server; origin: string }> {
  const server = createServer(async (req, res) => {
    if (req.url === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end(
        '<!doctype html><title>ws</title><script src="/vendor/msgpackr.js"></script><script type="module">import * as lib from "/client/index.js"; window.lib = lib;</script>',
      );
    }
    if (req.url === '/vendor/msgpackr.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      return res.end(await readFile(MSGPACKR_UMD));
    }
    const name = req.url?.match(/^\/client\/([\w.-]+\.js)$/)?.[1];
    if (!name) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/javascript' });
    res.end(await readFile(BUNDLE_DIR + name));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describeBrowser('WsBrowserClient in headless Chromium', () => {
  let browser: Browser;
  let page: Page;
  let web: Awaited<ReturnType<typeof servePage>>;
  let started: Awaited<ReturnType<typeof startApp>>;

  beforeAll(async () => {
    started = await startApp([TestController]);
    web = await servePage();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-quic',
        '--no-first-run',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage();
    await page.goto(web.origin);
    await page.waitForFunction(() => Boolean(window.lib));
    await page.evaluate((url) => {
      window.client = new window.lib.WsBrowserClient({ url, reconnect: { initialDelay: 50, maxDelay: 200 } });
    }, started.url);
  }, 60000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => web?.server.close(r));
    await started?.app.close();
  });

  it('calls a handler and gets its value', async () => {
    await expect(page.evaluate(() => window.client.send('sum', [1, 2, 3]))).resolves.toBe(6);
    await expect(page.evaluate(() => window.client.send({ v: 2, cmd: 'sum' }, [1, 2]))).resolves.toBe(6);
  });

  it('streams an Observable handler value by value, in order', async () => {
    const values = await page.evaluate(async () => {
      const out: number[] = [];
      for await (const v of window.client.stream<number>('ticks', 5)) out.push(v);
      return out;
    });
    expect(values).toEqual([0, 10, 20, 30, 40]);
  });

  it('emits events to every handler', async () => {
    seen.events.length = 0;
    await page.evaluate(() => window.client.emit('recorded', { from: 'browser' }));
    await within(
      waitUntil(() => seen.events.length === 1),
      3000,
      'the event',
    );
    expect(seen.events).toEqual([{ from: 'browser' }]);
  });

  it('rejects with the same error information a Nest client gets', async () => {
    const errors = await page.evaluate(async () => {
      const grab = (p: Promise<unknown>) =>
        p.then(
          () => null,
          (e) => ({ name: e.name, message: e.message, error: e.error }),
        );
      return {
        rpc: await grab(window.client.send('rpc-error', {})),
        unknown: await grab(window.client.send('nobody-home', {})),
        internal: await grab(window.client.send('plain-error', {})),
        timeout: await grab(window.client.send('slow', 500, { timeout: 50 })),
      };
    });
    expect(errors.rpc).toEqual({ name: 'RemoteError', message: expect.any(String), error: { code: 'E_DECLINED', detail: { amount: 5 } } });
    expect(errors.unknown).toMatchObject({ name: 'RemoteError', error: 'There is no matching message handler defined in the remote service.' });
    expect(errors.internal).toMatchObject({ error: { status: 'error', message: 'Internal server error' } });
    expect(errors.timeout).toMatchObject({ name: 'WsBrowserError', message: 'No reply to "slow" within 50 ms.' });
  });

  it('speaks MessagePack in binary frames when given a codec', async () => {
    const binary = await startApp([TestController], { codec: 'msgpack' });
    try {
      const result = await page.evaluate(async (url) => {
        const { Packr } = (window as unknown as { msgpackr: { Packr: new (o: object) => { pack(v: unknown): Uint8Array; unpack(b: Uint8Array): unknown } } })
          .msgpackr;
        const packr = new Packr({ useRecords: false });
        const codec = {
          binary: true,
          encode: (v: unknown) => packr.pack(v),
          decode: (d: string | ArrayBuffer) => packr.unpack(new Uint8Array(d as ArrayBuffer)),
        };
        const client = new window.lib.WsBrowserClient({ url, codec });
        try {
          return { sum: await client.send('sum', [1, 2, 39]), echo: await client.send('echo', { text: 'ünï', list: [1.5, true, null] }) };
        } finally {
          client.close();
        }
      }, binary.url);
      expect(result).toEqual({ sum: 42, echo: { text: 'ünï', list: [1.5, true, null] } });
    } finally {
      await binary.app.close();
    }
  });

  it('reconnects after the server restarts', async () => {
    const port = started.port;
    await started.app.close();
    await page.waitForFunction(() => window.client.status === 'reconnecting', undefined, { timeout: 5000 });
    started = await startApp([TestController], { port });
    await page.waitForFunction(() => window.client.status === 'connected', undefined, { timeout: 10000 });
    await expect(page.evaluate(() => window.client.send('sum', [20, 22]))).resolves.toBe(42);
  });
});

async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((r) => setTimeout(r, 10));
}
