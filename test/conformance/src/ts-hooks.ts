// Module hooks (node:module register) that let the CLI import TypeScript descriptors: `.ts`,
// `.mts` and `.cts` files are transpiled with the project's own `typescript` (no type check), and a
// relative `./x.js` that does not exist resolves to `./x.ts`, as TypeScript's own resolution does.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

type Next = (specifier: string, context: unknown) => Promise<any>;

let ts: any;

export async function initialize(data: { typescript: string }): Promise<void> {
  const mod = await import(data.typescript);
  ts = mod.default ?? mod;
}

export async function resolve(specifier: string, context: { parentURL?: string }, next: Next): Promise<any> {
  try {
    return await next(specifier, context);
  } catch (err) {
    const relative = specifier.startsWith('.') || specifier.startsWith('file:');
    if ((err as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND' || !relative || !/\.[cm]?js$/.test(specifier)) throw err;
    return next(specifier.replace(/\.([cm]?)js$/, '.$1ts'), context);
  }
}

export async function load(url: string, context: unknown, next: Next): Promise<any> {
  if (!/\.[cm]?ts$/.test(new URL(url).pathname) || url.includes('/node_modules/')) return next(url, context);
  const fileName = fileURLToPath(url);
  const source = await readFile(fileName, 'utf8');
  const { outputText } = ts.transpileModule(source, {
    fileName,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      esModuleInterop: true,
      inlineSourceMap: true,
    },
  });
  return { format: 'module', source: outputText, shortCircuit: true };
}
