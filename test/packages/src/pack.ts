import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execOk, userEnv } from './exec.js';

/** The repository this package lives in (test/packages/dist → ../../..). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export interface PublishedPackage {
  name: string;
  version: string;
  /** Folder relative to the repository root, e.g. `transports/ws`. */
  dir: string;
}

export interface PackedFile {
  path: string;
  size: number;
}

export interface Tarball extends PublishedPackage {
  /** Absolute path of the `.tgz`. */
  file: string;
  /** Compressed size in bytes. */
  size: number;
  unpackedSize: number;
  files: PackedFile[];
  /** How long `npm pack` took, its `prepack` build included. */
  packMs: number;
}

export interface PackManifest {
  packedAt: string;
  totalMs: number;
  tarballs: Tarball[];
}

/** Every workspace package that is not `private`: what `lerna publish` publishes. */
export function publishedPackages(root = REPO_ROOT): PublishedPackage[] {
  const { workspaces } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { workspaces: string[] };
  const dirs = workspaces.flatMap((pattern) => {
    if (!pattern.endsWith('/*')) return [pattern];
    const parent = pattern.slice(0, -2);
    return readdirSync(path.join(root, parent), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => `${parent}/${entry.name}`);
  });
  return dirs
    .filter((dir) => existsSync(path.join(root, dir, 'package.json')))
    .map((dir) => ({ dir, pkg: JSON.parse(readFileSync(path.join(root, dir, 'package.json'), 'utf8')) }))
    .filter(({ pkg }) => !pkg.private)
    .map(({ dir, pkg }) => ({ name: pkg.name, version: pkg.version, dir }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

interface NpmPackJson {
  name: string;
  version: string;
  filename: string;
  size: number;
  unpackedSize: number;
  files: PackedFile[];
}

/** `npm pack --json` prints its lifecycle scripts' output before the JSON array. */
function parsePackOutput(stdout: string): NpmPackJson {
  const start = stdout.search(/^\[/m);
  if (start < 0) throw new Error(`npm pack printed no JSON:\n${stdout}`);
  return (JSON.parse(stdout.slice(start)) as NpmPackJson[])[0]!;
}

/**
 * Packs each package with `npm pack` in its own folder, as `npm publish` would (its `prepack`
 * build included), one after another (they share `shared`'s build), into `dest`. Writes
 * `dest/manifest.json`.
 */
export async function packAll(dest: string, packages = publishedPackages()): Promise<PackManifest> {
  mkdirSync(dest, { recursive: true });
  const started = Date.now();
  const tarballs: Tarball[] = [];
  for (const pkg of packages) {
    const cwd = path.join(REPO_ROOT, pkg.dir);
    const result = await execOk('npm', ['pack', '--json', '--pack-destination', dest], { cwd, env: userEnv(), timeoutMs: 5 * 60_000 });
    const packed = parsePackOutput(result.stdout);
    tarballs.push({
      ...pkg,
      file: path.join(dest, packed.filename),
      size: packed.size,
      unpackedSize: packed.unpackedSize,
      files: packed.files.map(({ path: p, size }) => ({ path: p, size })),
      packMs: result.ms,
    });
  }
  const manifest: PackManifest = { packedAt: new Date().toISOString(), totalMs: Date.now() - started, tarballs };
  writeFileSync(path.join(dest, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Reads what packAll() wrote. */
export function readManifest(dest: string): PackManifest {
  return JSON.parse(readFileSync(path.join(dest, 'manifest.json'), 'utf8')) as PackManifest;
}

/** `file:` dependencies on the given tarballs, for a fresh app's package.json. */
export function tarballDependencies(manifest: PackManifest, names?: readonly string[]): Record<string, string> {
  const chosen = names ? manifest.tarballs.filter((t) => names.includes(t.name)) : manifest.tarballs;
  if (names && chosen.length !== names.length) {
    const missing = names.filter((n) => !chosen.some((t) => t.name === n));
    throw new Error(`No tarball for ${missing.join(', ')} (packed: ${manifest.tarballs.map((t) => t.name).join(', ')})`);
  }
  return Object.fromEntries(chosen.map((t) => [t.name, `file:${t.file}`]));
}
