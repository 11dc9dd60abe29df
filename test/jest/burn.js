#!/usr/bin/env node
// Keeps every core busy (or N: `node test/jest/burn.js 2`) until it is stopped, the way another
// engineer's build or test run does on a shared machine. Each burner is a busy thread at normal priority.
import { availableParallelism } from 'node:os';
import { isMainThread, Worker } from 'node:worker_threads';

if (isMainThread) {
  const threads = Number(process.argv[2] ?? availableParallelism());
  for (let i = 0; i < threads; i++) new Worker(new URL(import.meta.url));
  process.stderr.write(`[burn] ${threads} busy thread(s) in pid ${process.pid}\n`);
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
} else {
  for (;;) Math.sqrt(Math.random());
}
