import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { which } from './process.js';

/** This package's folder (src/, dist/ and dist/cjs/ sit below it): the one whose package.json names it. */
function packageDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) || !readFileSync(path.join(dir, 'package.json'), 'utf8').includes('"@nest-transports/backends"')) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`@nest-transports/backends: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

export const PACKAGE_DIR = packageDir();

/**
 * The node_modules folder the jars are cached in: the one this package is installed in
 * (…/node_modules/@nest-transports/backends), or the repository's own in this monorepo.
 */
const NODE_MODULES =
  path.basename(path.resolve(PACKAGE_DIR, '..', '..')) === 'node_modules'
    ? path.resolve(PACKAGE_DIR, '..', '..')
    : path.resolve(PACKAGE_DIR, '..', '..', 'node_modules');

/** Runs a command; rejects with its output's tail when it fails or outlives `timeoutMs`. */
export function run(file: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`.trim();
      if (err) reject(new Error(`${path.basename(file)} ${args.join(' ')} failed (${err.message.split('\n')[0]})\n${output.slice(-8000)}`));
      else resolve(output);
    });
  });
}

/**
 * A Java server whose jars come from Maven Central through a pom.xml in this package: `<folder>/pom.xml`
 * names the artifact and pins its version in the property `<versionProperty>`; nothing is built.
 */
export interface MavenServer {
  /** Human name, e.g. "Apache Kafka". */
  label: string;
  /** The folder of this package that holds its pom.xml, also the cache folder's prefix (`kafka`, `elasticmq`). */
  folder: string;
  /** The pom property that pins the version, e.g. `kafka.version`. */
  versionProperty: string;
  /** The jar whose presence shows a complete fetch, for a version. */
  mainJar(version: string): string;
}

export interface MavenJars {
  version: string;
  dir: string;
  bytes: number;
  /** False when the jars were already cached. */
  fetched: boolean;
  ms: number;
}

export const pomFile = (server: MavenServer) => path.join(PACKAGE_DIR, server.folder, 'pom.xml');

/** The version pinned in the server's pom.xml. */
export function pinnedVersion(server: MavenServer): string {
  const pom = pomFile(server);
  const property = server.versionProperty.replace(/\./g, '\\.');
  const match = new RegExp(`<${property}>([^<]+)</${property}>`).exec(readFileSync(pom, 'utf8'));
  if (!match) throw new Error(`no <${server.versionProperty}> in ${pom}`);
  return match[1].trim();
}

/** Where the jars are cached: node_modules/.cache/nest-transports/<folder>-<version>/ (the project's node_modules). */
export function jarsDir(server: MavenServer, version = pinnedVersion(server)): string {
  return path.join(NODE_MODULES, '.cache', 'nest-transports', `${server.folder}-${version}`);
}

const jarsPresent = (server: MavenServer, dir: string, version: string) => existsSync(path.join(dir, server.mainJar(version)));

/** True when the jars are cached or mvn could fetch them. */
export function canFetchJars(server: MavenServer): boolean {
  return Boolean(which('mvn')) || jarsPresent(server, jarsDir(server), pinnedVersion(server));
}

/** Fetches the server's jars from Maven Central once (`mvn dependency:copy-dependencies`); throws when that fails. */
export async function fetchJars(server: MavenServer): Promise<MavenJars> {
  const started = Date.now();
  const version = pinnedVersion(server);
  const dir = jarsDir(server, version);
  let fetched = false;
  if (!jarsPresent(server, dir, version)) {
    const mvn = which('mvn');
    if (!mvn) throw new Error(`cannot fetch the ${server.label} ${version} jars: no mvn on PATH`);
    mkdirSync(path.dirname(dir), { recursive: true });
    // Fetch into a staging folder and rename it: the cache folder exists only when complete.
    const staging = mkdtempSync(`${dir}.partial-`);
    try {
      await run(mvn, ['-q', '-B', '-f', pomFile(server), 'dependency:copy-dependencies', `-DoutputDirectory=${staging}`], 600_000);
      if (!jarsPresent(server, staging, version)) throw new Error(`mvn did not copy ${server.mainJar(version)} into ${staging}`);
      try {
        renameSync(staging, dir);
      } catch (err) {
        if (!jarsPresent(server, dir, version)) throw err; // else a concurrent fetch won the race
      }
      fetched = true;
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  const bytes = readdirSync(dir).reduce((sum, file) => sum + statSync(path.join(dir, file)).size, 0);
  return { version, dir, bytes, fetched, ms: Date.now() - started };
}
