import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type ExecResult, exec, execOk, userEnv } from './exec.js';

export interface FreshAppSpec {
  /** Names the temporary folder, e.g. `nest12-esm`. */
  kind: string;
  /** package.json of the app: dependencies on tarballs (`file:`) and on registry packages. */
  packageJson: Record<string, unknown>;
  /** Files to write, by path relative to the app folder. */
  files?: Record<string, string>;
  /** Folders to copy into the app: `{ 'src': '/abs/template/src' }`. */
  copy?: Record<string, string>;
  /** Bound on `npm install` (a cold npm cache fetches Nest and the cloud SDKs from the registry). */
  installTimeoutMs?: number;
}

export interface FreshApp {
  kind: string;
  dir: string;
  /** How long `npm install` took. */
  installMs: number;
  /** Runs a command in the app folder with a user's environment plus `env`. */
  run(command: string, args: readonly string[], options?: { env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<ExecResult>;
  /** Writes a file into the app (creating folders). */
  write(relative: string, content: string): void;
  remove(): void;
}

/**
 * Creates an app folder under the OS temp dir — outside the workspace, so nothing resolves
 * through its node_modules or workspaces — and installs it with npm, as a user would. npm's
 * cache is the user's (shared by every install of the run and by the workspace's own install),
 * and `--prefer-offline` keeps registry round trips to what the cache lacks.
 */
export async function createApp(spec: FreshAppSpec): Promise<FreshApp> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `nest-transports-${spec.kind}-`));
  const write = (relative: string, content: string) => {
    const file = path.join(dir, relative);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, content);
  };
  try {
    write('package.json', `${JSON.stringify({ name: `fresh-${spec.kind}`, version: '1.0.0', private: true, ...spec.packageJson }, null, 2)}\n`);
    for (const [relative, content] of Object.entries(spec.files ?? {})) write(relative, content);
    for (const [relative, from] of Object.entries(spec.copy ?? {})) cpSync(from, path.join(dir, relative), { recursive: true });
    const install = await execOk('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: dir,
      timeoutMs: spec.installTimeoutMs ?? 10 * 60_000,
    });
    return {
      kind: spec.kind,
      dir,
      installMs: install.ms,
      run: (command, args, options = {}) => exec(command, args, { cwd: dir, env: userEnv(options.env), timeoutMs: options.timeoutMs ?? 5 * 60_000 }),
      write,
      remove: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
