import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { WebSocket } from 'ws';
import { WS_SUBPROTOCOL } from '../src/index.js';
import { within } from './app.js';
import { type ServerProcess, startServerProcess } from './server-process.js';

const MiB = 1024 * 1024;
// Enough to hold far over the 32 MiB bound below were each padded pattern kept (200 × 900 KB), few
// enough that the flood (180 MB each way, parsed on both sides) takes seconds on a busy machine.
const REQUESTS = 200;
const PAD = 900 * 1024;

/**
 * Padded spellings of real patterns all route to a handler; each used to become a route memo
 * entry of its full size (1,100 × 900 KB left 865 MiB held). The server runs in its own process
 * and reports its memory after a full GC.
 */
describe('route memo under a padded-pattern flood (server in its own process)', () => {
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServerProcess();
  }, 30_000);
  afterAll(() => server?.stop());

  it(`holds no more than a few MiB after ${REQUESTS} requests with ~900 KB padded patterns`, async () => {
    const socket = new WebSocket(server.url, [WS_SUBPROTOCOL]);
    await within(new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject)), 5000, 'open');
    // Warm up the code paths, then take the baseline.
    await exchange(socket, 20, (i) => JSON.stringify({ id: `w${i}`, pattern: 'sum', data: [1, 2] }));
    const before = await server.memory();

    const answers = await exchange(socket, REQUESTS, (i) => {
      // Alternate a padded string pattern and a padded JSON object pattern; every padding differs.
      const pad = ' '.repeat(PAD + i);
      const pattern = i % 2 ? `${pad}"sum"${pad.slice(0, 10)}` : `{"cmd":"sum",${pad}"v":2}`;
      return JSON.stringify({ id: `f${i}`, pattern, data: [1, 2] });
    });
    expect(answers.filter((a) => a.response === 3 || a.response === 6)).toHaveLength(REQUESTS);
    const after = await server.memory();
    socket.close();
    const heldMiB = (after.heapUsed + after.external - before.heapUsed - before.external) / MiB;
    console.log(
      `[memory] after ${REQUESTS} padded patterns: heapUsed ${(after.heapUsed / MiB).toFixed(1)} MiB (before ${(before.heapUsed / MiB).toFixed(1)}), ` +
        `external ${(after.external / MiB).toFixed(1)} MiB, rss ${(after.rss / MiB).toFixed(1)} MiB; held ${heldMiB.toFixed(1)} MiB`,
    );
    expect(heldMiB).toBeLessThan(32);
  }, 180_000);
});

/** Sends `n` frames, at most 8 unanswered at a time, and returns the replies. */
async function exchange(socket: WebSocket, n: number, frame: (i: number) => string): Promise<Array<{ id: string; response?: unknown }>> {
  const replies: Array<{ id: string; response?: unknown }> = [];
  let sent = 0;
  await within(
    new Promise<void>((resolve, reject) => {
      const send = () => {
        while (sent < n && sent - replies.length < 8) socket.send(frame(sent++));
      };
      socket.on('message', (data) => {
        replies.push(JSON.parse(data.toString()));
        if (replies.length === n) resolve();
        else send();
      });
      socket.once('close', (code) => reject(new Error(`closed with ${code} after ${replies.length} replies`)));
      send();
    }),
    150_000,
    `${n} replies`,
  );
  socket.removeAllListeners('message');
  socket.removeAllListeners('close');
  return replies;
}
