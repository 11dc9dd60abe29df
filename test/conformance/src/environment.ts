import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export interface FoundPackage {
  name: string;
  version: string;
  dir: string;
}

function readJson(file: string): any {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Finds `name` the way Node resolves a bare specifier from `fromDir`: each `node_modules` up the tree. */
export function findPackage(name: string, fromDir: string = here): FoundPackage | undefined {
  let dir = fromDir;
  for (;;) {
    const candidate = join(dir, 'node_modules', name, 'package.json');
    if (existsSync(candidate)) {
      const json = readJson(candidate);
      return { name, version: String(json?.version ?? 'unknown'), dir: dirname(candidate) };
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** This package's own package.json (the folder above dist/, or dist/cjs/). */
function ownPackage(): { name: string; version: string; dir: string } {
  let dir = here;
  for (;;) {
    const json = readJson(join(dir, 'package.json'));
    if (json?.name === '@nest-transports/conformance') return { name: json.name, version: json.version, dir };
    const parent = dirname(dir);
    if (parent === dir) return { name: '@nest-transports/conformance', version: 'unknown', dir: here };
    dir = parent;
  }
}

export const suitePackage = ownPackage();

/** The folder of @nestjs/microservices: the packages Nest loads for a built-in transporter resolve from there. */
export function nestMicroservicesDir(): string | undefined {
  return findPackage('@nestjs/microservices')?.dir;
}

/** The major version of @nestjs/microservices in use (11, 12…), or undefined when it cannot be read. */
export function nestMajor(): number | undefined {
  const version = findPackage('@nestjs/microservices')?.version;
  const major = Number(version?.split('.')[0]);
  return Number.isFinite(major) ? major : undefined;
}

/** The packages in `names` that cannot be found from this package nor from @nestjs/microservices (or @nestjs/common). */
export function missingPackages(names: string[], from: 'microservices' | 'common' = 'microservices'): string[] {
  const nest = findPackage(`@nestjs/${from}`)?.dir;
  return names.filter((name) => !findPackage(name) && !(nest && findPackage(name, nest)));
}

export interface Versions {
  suite: string;
  node: string;
  nest: { common: string | null; core: string | null; microservices: string | null };
  platform: string;
}

export function versions(): Versions {
  const v = (name: string) => findPackage(name)?.version ?? null;
  return {
    suite: `${suitePackage.name}@${suitePackage.version}`,
    node: process.version,
    nest: { common: v('@nestjs/common'), core: v('@nestjs/core'), microservices: v('@nestjs/microservices') },
    platform: `${process.platform}-${process.arch}`,
  };
}

/** The npm line that installs `names` as dev dependencies. */
export const installLine = (names: string[]) => `npm install --save-dev ${names.join(' ')}`;
