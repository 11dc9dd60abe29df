import assert from 'node:assert/strict';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import {
  createApp,
  type Diagnostic,
  type FreshApp,
  formatDiagnostics,
  type PackManifest,
  parseTscOutput,
  REPO_ROOT,
  readManifest,
  type Snippet,
  snippetFileName,
  snippetModule,
  extractSnippets,
  tail,
  tarballDependencies,
} from '@nest-transports/package-tests';

/** The READMEs whose TypeScript blocks must compile as written in every fresh app. */
export const README_FILES = [
  'README.md',
  'shared/README.md',
  'transports/ws/README.md',
  'transports/sqs/README.md',
  'transports/pubsub/README.md',
  'transports/jetstream/README.md',
  'transports/redis-streams/README.md',
];

/** The packages a Nest app that uses every transport installs (shared comes as their dependency). */
export const TRANSPORT_PACKAGES = [
  '@nest-transports/shared',
  '@nest-transports/ws',
  '@nest-transports/sqs',
  '@nest-transports/pubsub',
  '@nest-transports/jetstream',
  '@nest-transports/redis-streams',
];

export interface TscBuild {
  /** tsconfig file in the app. */
  config: string;
  /** Which snippets it compiles: the Node ones or the browser ones. */
  snippets: 'node' | 'browser';
}

export interface AppKind {
  name: string;
  /** package.json fields of the app, without the tarball dependencies. */
  packageJson: Record<string, unknown>;
  /** tsconfig files, by name. */
  tsconfigs: Record<string, unknown>;
  /** tsc runs; the first one emits `dist/` that the runs execute. */
  builds: TscBuild[];
  /** What the emitted app is, checked when it runs. */
  module: 'commonjs' | 'esm';
  nestMajor: number;
}

const TRANSPORTS = ['ws', 'sqs', 'pubsub', 'jetstream', 'redis-streams'] as const;
type TransportName = (typeof TRANSPORTS)[number];

/** The backend each transport needs: its address variable, and why it is missing (set by the global setup). */
const BACKEND: Record<TransportName, { env?: string; missing?: string }> = {
  ws: {},
  sqs: { env: 'SQS_ENDPOINT', missing: 'NEST_TRANSPORTS_NO_SQS' },
  pubsub: { env: 'PUBSUB_EMULATOR_HOST', missing: 'NEST_TRANSPORTS_NO_PUBSUB' },
  jetstream: { env: 'NATS_URL', missing: 'NEST_TRANSPORTS_NO_NATS' },
  'redis-streams': { env: 'REDIS_URL', missing: 'NEST_TRANSPORTS_NO_REDIS' },
};

interface RunResult {
  code: number | null;
  timedOut: boolean;
  stderr: string;
  stdout: string;
  result?: Record<string, any>;
}

function manifest(): PackManifest {
  const error = process.env.NEST_TRANSPORTS_PACK_ERROR;
  if (error) throw new Error(`Packing failed: ${error}`);
  const dir = process.env.NEST_TRANSPORTS_TARBALLS;
  if (!dir) throw new Error('NEST_TRANSPORTS_TARBALLS is not set: run through `npm run test:packages`');
  return readManifest(dir);
}

const APP_TEMPLATE = path.join(REPO_ROOT, 'test/packages/app');

/** Files that must fail to compile, with the error they must fail with: typos in client options. */
const MUST_NOT_COMPILE: Record<string, RegExp> = {
  'src/negative/typo-ws.ts': /TS(2353|2561): Object literal may only specify known properties, \w+ 'urll' does not exist/,
  'src/negative/typo-sqs.ts': /TS(2353|2561): Object literal may only specify known properties, \w+ 'requestTimeOut' does not exist/,
  'src/negative/typo-pubsub.ts': /TS(2353|2561): Object literal may only specify known properties, \w+ 'topik' does not exist/,
  'src/negative/typo-jetstream.ts': /TS(2353|2561): Object literal may only specify known properties, \w+ 'subjekt' does not exist/,
  'src/negative/typo-redis-streams.ts': /TS(2353|2561): Object literal may only specify known properties, \w+ 'maxLength' does not exist/,
};

interface TscResult {
  code: number | null;
  /** Files in the program, relative to the app. */
  files: Set<string>;
  diagnostics: Diagnostic[];
  output: string;
}

/**
 * One fresh app of `kind`, installed once from the tarballs: every README snippet compiled under
 * each of its tsconfigs, then request-response, an event and an RpcException over ws, sqs,
 * pubsub, jetstream and redis-streams against the real backends, each transport in its own `node dist/main.js <transport>`.
 */
export function describeFreshApp(kind: AppKind): void {
  const snippets = extractSnippets(REPO_ROOT, README_FILES);

  describe(kind.name, () => {
    let app: FreshApp | undefined;
    const builds = new Map<string, TscResult>();
    const build = (config: string): TscResult => {
      const result = builds.get(config);
      assert.ok(result, `${config} was not compiled (see the beforeAll error)`);
      return result;
    };

    beforeAll(async () => {
      const files: Record<string, string> = {};
      for (const [name, config] of Object.entries(kind.tsconfigs)) files[name] = `${JSON.stringify(config, null, 2)}\n`;
      for (const snippet of snippets) {
        files[path.join('src/snippets', snippet.browser ? 'browser' : '', snippetFileName(snippet))] = snippetModule(snippet);
      }
      const packageJson = {
        ...kind.packageJson,
        dependencies: { ...(kind.packageJson.dependencies as object), ...tarballDependencies(manifest(), TRANSPORT_PACKAGES) },
      };
      app = await createApp({
        kind: kind.name,
        packageJson,
        files,
        copy: { src: path.join(APP_TEMPLATE, 'src'), 'src/negative': path.join(APP_TEMPLATE, 'negative') },
      });
      for (const { config } of kind.builds) {
        const tsc = await app.run('node', ['node_modules/typescript/bin/tsc', '-p', config, '--pretty', 'false', '--listFiles'], { timeoutMs: 5 * 60_000 });
        if (tsc.timedOut) throw new Error(`tsc -p ${config} did not finish within 5 minutes`);
        const files = new Set(
          tsc.stdout
            .split('\n')
            .filter((line) => line.startsWith(app!.dir))
            .map((line) => path.relative(app!.dir, line.trim())),
        );
        builds.set(config, { code: tsc.code, files, diagnostics: parseTscOutput(tsc.stdout), output: tsc.stdout + tsc.stderr });
      }
    }, 20 * 60_000);

    afterAll(() => app?.remove());

    for (const { config, snippets: which } of kind.builds) {
      test(`${config} compiles with no error outside the README snippets and the must-not-compile files`, () => {
        const { code, diagnostics, output } = build(config);
        const errors = diagnostics.filter((d) => !d.file.startsWith('src/snippets/') && !(d.file in MUST_NOT_COMPILE));
        expect(formatDiagnostics(errors)).toBe('');
        // tsc exits 2 when it reports errors (those of the must-not-compile files); anything else is a failure of tsc itself.
        if (diagnostics.length === 0) assert.equal(code, 0, tail(output));
        else assert.equal(code, 2, tail(output));
      });
      test(`${config}: takes the packages' types from their .d.ts files, never from the shipped sources`, () => {
        const ours = [...build(config).files].filter((f) => f.startsWith('node_modules/@nest-transports/'));
        expect(ours.filter((f) => !f.endsWith('.d.ts'))).toEqual([]);
        if (which === 'browser') expect(ours).toContain('node_modules/@nest-transports/ws/dist/browser/index.d.ts');
        else expect(ours).toEqual(expect.arrayContaining(TRANSPORT_PACKAGES.map((name) => `node_modules/${name}/dist/index.d.ts`)));
      });
      if (which === 'node') {
        test(`${config}: a typo in clientProvider() options is a compile error`, () => {
          const { files, diagnostics } = build(config);
          for (const [file, expected] of Object.entries(MUST_NOT_COMPILE)) {
            assert.ok(files.has(file), `${file} is not in the program`);
            expect(formatDiagnostics(diagnostics.filter((d) => d.file === file))).toMatch(expected);
          }
        });
      }
      for (const snippet of snippets.filter((s) => (s.browser ? 'browser' : 'node') === which)) {
        test(`${snippet.id} compiles as written (${config})`, () => {
          const file = path.join('src/snippets', snippet.browser ? 'browser' : '', snippetFileName(snippet));
          const { files, diagnostics } = build(config);
          assert.ok(files.has(file), `${file} is not in the program`);
          const errors = diagnostics.filter((d) => d.file === file);
          expect(errors.length === 0 ? '' : `${formatDiagnostics(errors)}\n--- ${snippet.id}:\n${snippetModule(snippet)}`).toBe('');
        });
      }
    }

    describe.each(TRANSPORTS)('%s', (transport) => {
      let run: RunResult | undefined;
      const backend = BACKEND[transport];
      const unavailable = backend.env && !process.env[backend.env] ? (process.env[backend.missing!] ?? `${backend.env} is not set`) : undefined;

      beforeAll(async () => {
        if (unavailable || !app) return;
        const out = await app.run('node', ['dist/main.js', transport], {
          timeoutMs: 120_000,
          // The AWS SDK's Node-version notice, silenced the documented way (see the README).
          env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', METADATA_SERVER_DETECTION: 'none' },
        });
        const line = out.stdout.split('\n').find((l) => l.startsWith('RESULT '));
        run = { code: out.code, timedOut: out.timedOut, stdout: out.stdout, stderr: out.stderr, result: line ? JSON.parse(line.slice(7)) : undefined };
      }, 150_000);

      const check = (name: string, assertion: (result: Record<string, any>) => void) => {
        if (unavailable && process.env.CI !== 'true') {
          test.skip(`${name} (skipped: ${unavailable})`, () => {});
          return;
        }
        test(name, () => {
          if (unavailable) throw new Error(`CI=true: ${transport}'s backend must be available: ${unavailable}`);
          assert.ok(run, 'the app did not run (see the beforeAll error)');
          assert.ok(run.result, `no RESULT line (exit ${run.code}${run.timedOut ? ', timed out' : ''})\n${tail(run.stdout)}\n${tail(run.stderr)}`);
          assertion(run.result);
        });
      };

      check(`runs as ${kind.module} on Nest ${kind.nestMajor}`, (r) => {
        expect({ moduleSystem: r.moduleSystem, nest: Number(String(r.nest).split('.')[0]) }).toEqual({ moduleSystem: kind.module, nest: kind.nestMajor });
      });
      check('request-response with a typed @Ctx()', (r) => {
        expect(r.requestResponse).toEqual({ ok: true, value: { total: 6, context: `${contextClass(transport)}`, pattern: 'orders.total' } });
      });
      check('events reach the @EventPattern handler', (r) => {
        expect(r.emit).toEqual({ ok: true, value: undefined });
        expect(r.event).toEqual({
          ok: true,
          value: { order: { id: expect.any(String), items: [4] }, context: contextClass(transport), pattern: 'orders.created' },
        });
      });
      check("an RpcException's error object reaches the client", (r) => {
        expect(r.rpcException).toEqual({ ok: false, error: { code: 'EMPTY_ORDER', message: 'an order needs at least one item' } });
      });
      check('closes, exits by itself, prints no warning', () => {
        assert.equal(run!.timedOut, false, 'the process did not exit after close()');
        assert.equal(run!.code, 0, tail(run!.stderr));
        assert.equal(run!.stderr.trim(), '', 'stderr');
      });
    });
  });
}

function contextClass(transport: TransportName): string {
  return { ws: 'WsContext', sqs: 'SqsContext', pubsub: 'PubSubContext', jetstream: 'JetStreamContext', 'redis-streams': 'RedisStreamsContext' }[transport];
}

export type { Snippet };
