import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dist = pathToFileURL(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dist/index.js')).href;

/**
 * Calls `start({ timeoutMs: 1 })` (a backend that cannot come up that fast) of the built package in a
 * child process whose temp folder is its own, and reports the error and what the failed start
 * left in that folder before the process exits. Listing the machine's shared temp folder instead
 * would count the folders of every other test run on the machine.
 */
export async function failedStart(start: 'startKafkaBroker' | 'startElasticMq'): Promise<{ error: string; left: string[] }> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'failed-start-'));
  const script = `
    import { readdirSync } from 'node:fs';
    const backends = await import(${JSON.stringify(dist)});
    let error = 'it started';
    try { await (await backends.${start}({ timeoutMs: 1 })).stop(); } catch (err) { error = err.message; }
    process.stdout.write(JSON.stringify({ error, left: readdirSync(process.env.TMPDIR) }));`;
  try {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    if (code !== 0) throw new Error(`the child exited with ${code}: ${err}`);
    return JSON.parse(out);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
