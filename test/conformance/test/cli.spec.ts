import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'nest-conformance-cli-'));

function cli(...args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

const report = (dir: string, name = 'conformance') => JSON.parse(readFileSync(join(out, dir, `${name}.json`), 'utf8'));

describe('nest-conformance (the built CLI)', () => {
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('--help prints the usage and what the suite needs', async () => {
    const { code, output } = await cli('--help');
    expect(code).toBe(0);
    expect(output).toContain('usage: nest-conformance');
    expect(output).toContain('@nestjs/microservices 11 or 12');
  });

  it.each([
    ['tcp-like.mjs', 'tcp-mjs'],
    ['tcp-like.cjs', 'tcp-cjs'],
    ['tcp-like.ts', 'tcp-ts'],
    ['cjs-project/tcp-like.js', 'tcp-js'],
  ])('loads a descriptor from %s', async (file, name) => {
    const dir = file.replace(/\W/g, '-');
    const { code, output } = await cli(fixture(file), '--only=rr.basic', `--out=${join(out, dir)}`);
    expect({ code, output: code ? output : '' }).toEqual({ code: 0, output: '' });
    expect(report(dir).transports.map((t: any) => [t.name, t.results.map((r: any) => r.outcome)])).toEqual([[name, ['pass']]]);
  });

  it('ESM syntax in a CommonJS .js file: a clear error naming the fix, exit 2', async () => {
    // A default `npm init` project, with the README's old ESM example in a .js file.
    const project = join(out, 'default-npm-init');
    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'x', version: '1.0.0', type: 'commonjs' }));
    writeFileSync(join(project, 'my.conformance.js'), "import { defineTransport } from '@nest-transports/conformance';\nexport default defineTransport({});\n");
    const { code, output } = await cli(join(project, 'my.conformance.js'));
    expect(code).toBe(2);
    expect(output).toMatch(/a \.js file is CommonJS unless the nearest package\.json says "type": "module": name the file \.mjs/);
  });

  it('a descriptor that cannot load (a package it needs is missing): what and how to install it, exit 2', async () => {
    const project = join(out, 'missing-package');
    mkdirSync(project);
    writeFileSync(join(project, 'my.conformance.mjs'), "import 'no-such-transport-package';\nexport default {};\n");
    const { code, output } = await cli(join(project, 'my.conformance.mjs'));
    expect(code).toBe(2);
    expect(output).toMatch(
      /my\.conformance\.mjs could not be loaded: Cannot find package 'no-such-transport-package'.*\(npm install --save-dev no-such-transport-package\)/,
    );
  });

  it('an invalid descriptor: every problem listed, exit 2, nothing run', async () => {
    const { code, output } = await cli(fixture('invalid.mjs'), `--out=${join(out, 'invalid')}`);
    expect(code).toBe(2);
    expect(output).toContain('capabilities: unknown capability "telepathy"');
    expect(output).toContain('differences: "rr.*" is not a scenario id');
    expect(existsSync(join(out, 'invalid'))).toBe(false);
  });

  it('--probe writes a marked report to its own file, never over the verdict', async () => {
    const dir = 'probe';
    expect((await cli(fixture('tcp-like.mjs'), '--only=rr.basic', `--out=${join(out, dir)}`)).code).toBe(0);
    const verdict = readFileSync(join(out, dir, 'conformance.json'), 'utf8');
    const { code, output } = await cli(fixture('tcp-like.mjs'), '--only=rr.basic,ev.basic', '--probe', `--out=${join(out, dir)}`);
    expect(code).toBe(0);
    expect(output).toContain('Conformance PROBE');
    expect(readFileSync(join(out, dir, 'conformance.json'), 'utf8')).toBe(verdict);
    const probe = report(dir, 'conformance-probe');
    expect(probe.probe).toBe(true);
    expect(probe.transports[0].capabilities).toEqual(['requestResponse']);
    expect(probe.transports[0].results.map((r: any) => r.scenario)).toEqual(['rr.basic', 'ev.basic']);
    expect(readFileSync(join(out, dir, 'conformance-probe.md'), 'utf8')).toMatch(/^# Conformance PROBE/);
  });

  it('unknown options and transports: exit 2 with the usage or the known names', async () => {
    expect(await cli('--frobnicate')).toMatchObject({ code: 2, output: expect.stringContaining('unknown option --frobnicate') });
    expect(await cli('nosuch')).toMatchObject({ code: 2, output: expect.stringContaining('unknown transport "nosuch" (built-in rows: tcp, redis') });
    expect(await cli('--time-scale=0')).toMatchObject({ code: 2, output: expect.stringContaining('--time-scale=0: use a number of at least 1') });
  });
});
