import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';

const jestTest = test;
const skip = test.skip;
import { execOk, publishedPackages, REPO_ROOT, readManifest, type Tarball } from '@nest-transports/package-tests';
import { TRANSPORT_PACKAGES } from './fresh-app.js';

const REPOSITORY = 'git+https://github.com/nest-transports/nest-transports.git';
/** Libraries whose API a package's public types or calls expose: users install them (peer dependencies). */
const PEERS_EXPECTED: Record<string, string[]> = {
  '@nest-transports/sqs': ['@aws-sdk/client-sqs'],
  '@nest-transports/pubsub': ['@google-cloud/pubsub'],
  '@nest-transports/jetstream': ['@nats-io/jetstream', '@nats-io/transport-node'],
  '@nest-transports/redis-streams': ['ioredis'],
};

/**
 * Packages whose tarball is not yet installable, and who makes it so. Their checks are reported as
 * skipped, with the reason, until the entry is removed (remove it in the landing that fixes them).
 */
const PENDING: Record<string, string> = {};

const packages = publishedPackages();
let tarballs: Tarball[] = [];
let unpacked = '';

function files(dir: string, base = dir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? files(full, base) : [path.relative(base, full).split(path.sep).join('/')];
  });
}

/** Bare module specifiers imported by a built file (`import … from 'x'`, `import('x')`, `export … from 'x'`). */
function bareImports(source: string): string[] {
  const specs = [...source.matchAll(/(?:from\s*|import\s*\(\s*|import\s+)['"]([^'".][^'"]*)['"]/g)].map((m) => m[1]!);
  return specs.filter((s) => !s.startsWith('node:') && !builtinModules.includes(s));
}

const packageOf = (spec: string) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);

/** Does the library ship its own types (so that its .d.ts imports need no @types package)? */
function shipsTypes(name: string): boolean {
  const dir = path.join(REPO_ROOT, 'node_modules', name);
  const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'));
  return Boolean(pkg.types || pkg.typings || existsSync(path.join(dir, 'index.d.ts')) || JSON.stringify(pkg.exports ?? {}).includes('.d.ts'));
}

beforeAll(async () => {
  const error = process.env.NEST_TRANSPORTS_PACK_ERROR;
  if (error) throw new Error(`Packing failed: ${error}`);
  tarballs = readManifest(process.env.NEST_TRANSPORTS_TARBALLS!).tarballs;
  unpacked = mkdtempSync(path.join(os.tmpdir(), 'nest-transports-unpacked-'));
  for (const t of tarballs) {
    const dir = path.join(unpacked, t.name.replace('/', '+'));
    await execOk('mkdir', ['-p', dir], { cwd: unpacked, timeoutMs: 10_000 });
    await execOk('tar', ['xzf', t.file, '-C', dir, '--strip-components=1'], { cwd: unpacked, timeoutMs: 60_000 });
  }
  console.log(
    [
      'package                          files  packed      unpacked   npm pack (with prepack)',
      ...tarballs.map(
        (t) =>
          `${t.name.padEnd(32)} ${String(t.files.length).padStart(5)}  ${(t.size / 1024).toFixed(1).padStart(7)} KiB ${(t.unpackedSize / 1024).toFixed(1).padStart(7)} KiB  ${(t.packMs / 1000).toFixed(1)} s`,
      ),
    ].join('\n'),
  );
}, 120_000);

afterAll(() => {
  if (unpacked) rmSync(unpacked, { recursive: true, force: true });
});

test('every public workspace package was packed', () => {
  expect(tarballs.map((t) => t.name).sort()).toEqual(packages.map((p) => p.name).sort());
  expect(packages.map((p) => p.name)).toEqual(expect.arrayContaining(TRANSPORT_PACKAGES));
});

describe.each(packages.map((p) => p.name))('%s', (name) => {
  const test = PENDING[name] ? (title: string, _fn: () => void) => skip(`${title} (skipped: ${PENDING[name]})`, () => {}) : jestTest;
  const tarball = () => {
    const t = tarballs.find((x) => x.name === name);
    assert.ok(t, `${name} was not packed`);
    return t;
  };
  const root = () => path.join(unpacked, name.replace('/', '+'));
  const manifest = () => JSON.parse(readFileSync(path.join(root(), 'package.json'), 'utf8'));
  const list = () => files(root());

  test('has README.md, LICENSE, CHANGELOG.md and its built entry points', () => {
    const present = list();
    for (const file of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'dist/index.js', 'dist/index.d.ts']) expect(present).toContain(file);
    expect(readFileSync(path.join(root(), 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
  });

  test('ships no build info, tests or workspace config', () => {
    const stray = list().filter((f) => /\.tsbuildinfo$|(^|\/)test\/|\.spec\.|(^|\/)tsconfig[^/]*\.json$|(^|\/)jest\.(config|setup|global-\w+)\./.test(f));
    expect(stray).toEqual([]);
  });

  test('metadata: repository, homepage, bugs, license, engines, public access, ESM', () => {
    const pkg = manifest();
    const dir = packages.find((p) => p.name === name)!.dir;
    expect(pkg.repository).toEqual({ type: 'git', url: REPOSITORY, directory: dir });
    expect(pkg.homepage).toBe(`https://github.com/nest-transports/nest-transports/tree/main/${dir}#readme`);
    expect(pkg.bugs).toEqual({ url: 'https://github.com/nest-transports/nest-transports/issues' });
    expect(pkg.license).toBe('MIT');
    expect(pkg.type).toBe('module');
    // ESM only, loaded by CommonJS apps through require(esm): not on Node 22.0–22.11. A package with
    // a CommonJS copy under the `require` condition may allow more.
    if (!JSON.stringify(pkg.exports).includes('"require"')) expect(pkg.engines).toEqual({ node: '^20.19.0 || >=22.12.0' });
    else expect(pkg.engines?.node).toMatch(/^(\^20\.19\.0 \|\| >=22\.12\.0|>=20\.19)$/);
    expect(pkg.publishConfig).toEqual({ access: 'public' });
    expect(pkg.private).toBeUndefined();
    expect(pkg.scripts?.prepack).toBeDefined();
  });

  test('exports: every target is in the tarball, types first, ./package.json; subpaths in typesVersions', () => {
    const pkg = manifest();
    expect(pkg.exports['./package.json']).toBe('./package.json');
    const present = new Set(list());
    const problems: string[] = [];
    const exists = (file: string) =>
      file.includes('*')
        ? [...present].some((f) => new RegExp(`^${file.replace(/^\.\//, '').replace(/[.]/g, '\\.').replace('*', '.+')}$`).test(f))
        : present.has(file.replace(/^\.\//, ''));
    /** Walks a conditional target; returns the `types` files it names. */
    const walk = (subpath: string, target: unknown, where: string): string[] => {
      if (typeof target === 'string') {
        if (!exists(target)) problems.push(`${where}: ${target} is not in the tarball`);
        return [];
      }
      const conditions = Object.entries(target as Record<string, unknown>);
      if ('types' in (target as object) && conditions[0]![0] !== 'types') problems.push(`${where}: "types" must come first`);
      return conditions.flatMap(([condition, value]) =>
        condition === 'types' ? (walk(subpath, value, `${where}.types`), [value as string]) : walk(subpath, value, `${where}.${condition}`),
      );
    };
    for (const [subpath, target] of Object.entries<unknown>(pkg.exports)) {
      if (subpath === './package.json') continue;
      const types = walk(subpath, target, subpath);
      if (types.length === 0) problems.push(`${subpath}: no types`);
      // Under node10 resolution (module commonjs) TypeScript reads typesVersions, not exports.
      if (subpath !== '.') {
        const mapped = pkg.typesVersions?.['*']?.[subpath.slice(2)] as string[] | undefined;
        if (!mapped?.length) problems.push(`${subpath}: not in typesVersions`);
        else
          for (const file of mapped)
            if (!types.includes(file)) problems.push(`${subpath}: typesVersions → ${file}, not one of its types (${types.join(', ')})`);
      }
    }
    for (const field of ['main', 'types']) if (!exists(pkg[field])) problems.push(`${field}: ${pkg[field]} is not in the tarball`);
    for (const [bin, file] of Object.entries<string>(typeof pkg.bin === 'string' ? { [name]: pkg.bin } : (pkg.bin ?? {})))
      if (!exists(file)) problems.push(`bin ${bin}: ${file} is not in the tarball`);
    expect(problems).toEqual([]);
  });

  test('every built .js has its .d.ts, and every map resolves to a shipped source', () => {
    const present = new Set(list());
    const problems: string[] = [];
    for (const file of present) {
      if (file.endsWith('.js') && file.startsWith('dist/') && !present.has(file.replace(/\.js$/, '.d.ts'))) problems.push(`${file}: no .d.ts`);
      if (!file.endsWith('.map')) continue;
      const map = JSON.parse(readFileSync(path.join(root(), file), 'utf8')) as { sources: string[] };
      for (const source of map.sources) {
        const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(file), source));
        if (!present.has(resolved)) problems.push(`${file} → ${source} (not in the tarball)`);
      }
      const built = file.replace(/\.map$/, '');
      if (!present.has(built)) problems.push(`${file}: no ${built}`);
    }
    expect(problems).toEqual([]);
  });

  test('every library its built files import is declared; internal ranges match the packed versions', () => {
    const pkg = manifest();
    const declared = { ...pkg.dependencies, ...pkg.peerDependencies } as Record<string, string>;
    const problems: string[] = [];
    for (const file of list().filter((f) => f.startsWith('dist/') && /\.(js|d\.ts)$/.test(f))) {
      for (const spec of bareImports(readFileSync(path.join(root(), file), 'utf8'))) {
        const lib = packageOf(spec);
        if (lib === name) continue;
        if (!declared[lib]) problems.push(`${file} imports ${spec}, not a dependency or peer dependency`);
        else if (file.endsWith('.d.ts') && !shipsTypes(lib) && !declared[`@types/${lib}`])
          problems.push(`${file}: the types of ${lib} need @types/${lib} as a dependency`);
      }
    }
    for (const [dep, range] of Object.entries<string>(pkg.dependencies ?? {})) {
      if (/^(file|link|workspace):/.test(range)) problems.push(`${dep}: ${range} cannot be installed from the registry`);
      if (!dep.startsWith('@nest-transports/')) continue;
      const sibling = tarballs.find((t) => t.name === dep);
      if (!sibling) problems.push(`${dep} is not published (private), yet ${name} depends on it`);
      else if (range !== `^${sibling.version}`) problems.push(`${dep}: range ${range}, packed version ${sibling.version} (expected ^${sibling.version})`);
    }
    for (const peer of PEERS_EXPECTED[name] ?? []) {
      if (!pkg.peerDependencies?.[peer]) problems.push(`${peer} must be a peer dependency`);
      if (pkg.dependencies?.[peer]) problems.push(`${peer} must not also be a dependency`);
    }
    expect(problems).toEqual([]);
  });

  test('the packed size is recorded', () => {
    const t = tarball();
    expect(statSync(t.file).size).toBe(t.size);
  });
});
