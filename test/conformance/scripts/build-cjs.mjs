#!/usr/bin/env node
// Writes dist/cjs/: a CommonJS copy of a package's ESM dist/ (JavaScript transpiled with swc,
// declarations copied), for the one runtime that cannot load ESM on Node 20: jest's CommonJS mode
// (it has no require(esm) before Node 24.9). Node itself takes the ESM build through the
// "module-sync" export condition, import and require alike, so a process never holds two copies.
// Usage (in the package folder, after tsc): node <this file>
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { transformSync } from '@swc/core';

const dist = join(process.cwd(), 'dist');
const out = join(dist, 'cjs');
rmSync(out, { recursive: true, force: true });

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (path !== out) yield* files(path);
    } else yield path;
  }
}

let count = 0;
for (const file of files(dist)) {
  const target = join(out, relative(dist, file));
  mkdirSync(dirname(target), { recursive: true });
  if (file.endsWith('.d.ts')) copyFileSync(file, target);
  else if (file.endsWith('.js')) {
    const { code } = transformSync(readFileSync(file, 'utf8'), {
      filename: file,
      jsc: { target: 'es2022', parser: { syntax: 'ecmascript' } },
      module: { type: 'commonjs', importInterop: 'node' },
      sourceMaps: false,
    });
    writeFileSync(target, code);
    count++;
  }
}
writeFileSync(join(out, 'package.json'), `${JSON.stringify({ type: 'commonjs' }, null, 2)}\n`);
console.log(`dist/cjs: ${count} CommonJS files`);
