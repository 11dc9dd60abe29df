#!/usr/bin/env node
// Deletes build output whose source is gone (a renamed or deleted .ts leaves its .js, .d.ts and
// maps in dist/, and `tsc -b` never removes them), so that `npm pack` ships only what the sources
// build. An output is stale when its source map names a source file that no longer exists. Files
// are only deleted, never rewritten, so a test reading dist/ while a package is packed is safe.
// Usage (from a package's folder, in prepack after the build): node <path>/prune-stale-output.mjs dist
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

function* maps(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* maps(full);
    else if (entry.name.endsWith('.map')) yield full;
  }
}

let pruned = 0;
for (const dir of process.argv.slice(2)) {
  if (!existsSync(dir)) continue;
  for (const map of maps(dir)) {
    let sources;
    try {
      ({ sources = [] } = JSON.parse(readFileSync(map, 'utf8')));
    } catch {
      continue;
    }
    if (sources.length === 0 || sources.some((source) => existsSync(path.resolve(path.dirname(map), source)))) continue;
    for (const file of [map, map.slice(0, -'.map'.length)]) rmSync(file, { force: true });
    pruned += 2;
  }
}
if (pruned > 0) console.log(`prune-stale-output: removed ${pruned} files built from sources that no longer exist`);
