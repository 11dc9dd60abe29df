import { existsSync, readFileSync } from 'node:fs';
import { register } from 'node:module';
import { join, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TransportDescriptor } from './descriptor.js';
import { findPackage, installLine } from './environment.js';
import { DescriptorError, descriptorProblems, validateDescriptor } from './validate.js';

const TS = /\.[cm]?ts$/;

/** A command-line argument that names a descriptor file rather than a built-in row. */
export const isDescriptorPath = (arg: string) => /[\\/]/.test(arg) || /\.[cm]?[jt]s$/.test(arg);

let tsHooks = false;

/** Lets `import()` load TypeScript files (transpiled with the project's own `typescript`, no type check). */
function registerTypeScript(forFile: string): void {
  if (tsHooks) return;
  const typescript = findPackage('typescript', process.cwd()) ?? findPackage('typescript');
  if (!typescript)
    throw new DescriptorError(
      `${forFile}: a TypeScript descriptor needs the "typescript" package (${installLine(['typescript'])}), or compile it to .js first`,
    );
  const main = JSON.parse(readFileSync(join(typescript.dir, 'package.json'), 'utf8')).main ?? 'lib/typescript.js';
  register('./ts-hooks.js', import.meta.url, { data: { typescript: pathToFileURL(join(typescript.dir, main)).href } });
  tsHooks = true;
}

function looksLikeDescriptor(value: unknown): boolean {
  return !!value && typeof value === 'object' && typeof (value as TransportDescriptor).name === 'string' && 'capabilities' in (value as object);
}

/**
 * The descriptors a file exports: its default export, or every exported descriptor. `.js`, `.mjs`,
 * `.cjs` load as Node loads them (a `.js` file follows the nearest package.json's "type"); `.ts`,
 * `.mts`, `.cts` are transpiled on the fly. Each one is validated.
 */
export async function loadDescriptorFile(path: string): Promise<TransportDescriptor[]> {
  const file = resolvePath(path);
  if (!existsSync(file)) throw new DescriptorError(`${path}: no such file`);
  if (TS.test(file)) registerTypeScript(path);
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (err) {
    if (err instanceof SyntaxError && /\.js$/.test(file) && /import|export/.test(err.message))
      throw new DescriptorError(
        `${path}: ${err.message} — a .js file is CommonJS unless the nearest package.json says "type": "module": name the file .mjs, or write it with require()/module.exports, or use .cjs`,
      );
    if (err instanceof DescriptorError) throw err;
    const missing = /Cannot find (?:package|module) '([^']+)'/.exec(String((err as Error)?.message))?.[1];
    throw new DescriptorError(
      `${path} could not be loaded: ${(err as Error)?.message ?? err}${
        missing && !missing.startsWith('.') && !missing.startsWith('/')
          ? ` (${installLine([
              missing
                .split('/')
                .slice(0, missing.startsWith('@') ? 2 : 1)
                .join('/'),
            ])})`
          : ''
      }`,
      { cause: err },
    );
  }
  // A CommonJS module's `module.exports` is the default export; its named exports may be copied beside it.
  const candidates = looksLikeDescriptor(mod.default) ? [mod.default] : Object.values(mod).filter(looksLikeDescriptor);
  const nested = !candidates.length && mod.default && typeof mod.default === 'object' ? Object.values(mod.default).filter(looksLikeDescriptor) : [];
  const found = [...new Set([...candidates, ...nested])];
  if (!found.length) {
    const problems = descriptorProblems(mod.default);
    throw new DescriptorError(
      `${path} exports no transport descriptor (export default defineTransport({ ... })${mod.default ? `; its default export: ${problems.join('; ')}` : ''})`,
    );
  }
  for (const d of found) validateDescriptor(d);
  return found as TransportDescriptor[];
}
