import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { startDashboard } from '../src/server.js';

const CHROMIUM = '/usr/bin/chromium';
const describeBrowser = existsSync(CHROMIUM) || process.env.CI === 'true' ? describe : describe.skip;

describeBrowser('browser dashboard example', () => {
  let browser: Browser;
  let dashboard: Awaited<ReturnType<typeof startDashboard>>;

  beforeAll(async () => {
    dashboard = await startDashboard();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run'],
    });
  }, 60000);
  afterAll(async () => {
    await browser?.close();
    await dashboard?.app.close();
    await new Promise((r) => dashboard?.http.close(r));
  });

  it('renders every streamed sample, then says the stream completed', async () => {
    const page = await browser.newPage();
    await page.goto(`${dashboard.url}?count=5&every=50`);
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'stream complete', undefined, { timeout: 10000 });
    await expect(page.textContent('#count')).resolves.toBe('5');
    const rss = Number(await page.textContent('#rssMb'));
    expect(rss).toBeGreaterThan(10);
    await expect(page.textContent('#connections')).resolves.toBe('1');
    await page.close();
  });
});
