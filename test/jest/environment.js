// Jest's node environment plus a leak check: a test file must close everything it opened
// (clients, servers, sockets, streaming pulls, child processes, timers) before its environment
// is torn down. Otherwise a stray callback fires after teardown ("You are trying to `require` a
// file after the Jest environment has been torn down") and the NEXT file in the same process pays.
//
// After the file's last afterAll hook, the check waits (bounded) for what the file created to go
// away, then fails THIS file naming each leftover, and closes the leftovers while the environment
// still exists, so that the next file starts clean.
//
//   LEAK_CHECK=report      report leftovers as a warning instead of failing the file
//   LEAK_CHECK=off         no check
//   LEAK_CHECK_GRACE_MS    how long leftovers may take to close (default 3000)
//
// TEST_TIME_SCALE (default 1; see test/backends/src/time-scale.ts) stretches every timeout of the
// file once its tests are collected: jest's testTimeout, each test's and hook's own, and the two
// bounds above.
//
// Jest bounds tests and hooks but not a file's loading: a top-level await that never settles
// would hang the run. A file still loading after LOAD_TIMEOUT_MS (default 180000) ends the
// process with a failure, naming the file and what it has open.
import { promisify } from 'node:util';
import NodeEnvironment from 'jest-environment-node';
import { testTimeScale } from '../backends/dist/time-scale.js';
import { activeHandles, backendNames, describeAlive, describeHandle } from './resources.js';

const realSetTimeout = globalThis.setTimeout;
const realSetInterval = globalThis.setInterval;
const realClearTimeout = globalThis.clearTimeout;
const sleep = (ms) => new Promise((resolve) => realSetTimeout(resolve, ms));

const MODE = process.env.LEAK_CHECK ?? 'fail';
const SCALE = testTimeScale();
const GRACE_MS = Math.round(Number(process.env.LEAK_CHECK_GRACE_MS ?? 3000) * SCALE);
const LOAD_TIMEOUT_MS = Math.round(Number(process.env.LOAD_TIMEOUT_MS ?? 180_000) * SCALE);
// Above this many live entries the timer table drops the ones that already ran or were cleared.
const PRUNE_AT = 2000;

/** The first frames of the stack where a timer was created, without jest's and Node's own. */
function origin(error) {
  const frames = (error.stack ?? '').split('\n').slice(1);
  const useful = frames.filter((line) => !line.includes('node:internal') && !line.includes('/jest-circus/'));
  return (useful.length ? useful : frames)
    .slice(0, 6)
    .map((line) => line.trim())
    .join('\n      ');
}

/** Multiplies every timeout of the collected tests and hooks, and the default one, by TEST_TIME_SCALE. */
function scaleTimeouts(state) {
  if (SCALE === 1) return;
  state.testTimeout = Math.round(state.testTimeout * SCALE);
  const visit = (block) => {
    for (const hook of block.hooks) if (hook.timeout) hook.timeout = Math.round(hook.timeout * SCALE);
    for (const child of block.children) {
      if (child.type === 'describeBlock') visit(child);
      else if (child.timeout) child.timeout = Math.round(child.timeout * SCALE);
    }
  };
  visit(state.rootDescribeBlock);
}

/** "describe › test" without jest's root block. */
function testName(block) {
  const names = [];
  for (let b = block; b?.parent; b = b.parent) names.unshift(b.name);
  return names.join(' › ');
}

export default class LeakCheckingEnvironment extends NodeEnvironment {
  constructor(config, context) {
    super(config, context);
    this.testPath = context.testPath;
    this.timers = new Map();
    // Where each handle was first seen and what was running when each timer was made, for the report.
    this.seen = new Map();
    this.phase = 'while loading the file';
    if (MODE !== 'off') this.trackTimers();
  }

  async setup() {
    await super.setup();
    this.baseline = new Set(activeHandles());
  }

  /** setTimeout/setInterval as the file (and every library it loads) sees them, recording each timer. */
  trackTimers() {
    const timers = this.timers;
    const wrap = (kind, real) => {
      const tracked = (callback, ms, ...args) => {
        const timer = real(callback, ms, ...args);
        if (timers.size >= PRUNE_AT) for (const t of timers.keys()) if (t._destroyed) timers.delete(t);
        const where = {};
        Error.captureStackTrace(where, tracked);
        timers.set(timer, { kind, ms, name: callback?.name || 'anonymous', where, phase: this.phase });
        return timer;
      };
      if (real[promisify.custom]) tracked[promisify.custom] = real[promisify.custom];
      return tracked;
    };
    Object.defineProperty(this.global, 'setTimeout', { value: wrap('setTimeout', realSetTimeout), writable: true, configurable: true });
    Object.defineProperty(this.global, 'setInterval', { value: wrap('setInterval', realSetInterval), writable: true, configurable: true });
  }

  /** Everything this file created that is still alive: ref'ed handles and requests, and pending timers. */
  leftovers() {
    const names = backendNames();
    const handles = activeHandles()
      .filter((h) => !this.baseline.has(h))
      .map((h) => ({ object: h, text: `${describeHandle(h, names)}, ${this.seen.get(h) ?? 'seen after the last test'}` }));
    const timers = [...this.timers]
      .filter(([timer]) => !timer._destroyed)
      .map(([timer, t]) => ({
        object: timer,
        timer: true,
        text: `${t.kind}(${t.name}, ${t.ms} ms)${timer.hasRef() ? '' : ' (unref)'} created ${t.phase} at\n      ${origin(t.where)}`,
      }));
    return [...handles, ...timers];
  }

  async waitForLeftovers() {
    const deadline = Date.now() + GRACE_MS;
    let left = this.leftovers();
    while (left.length && Date.now() < deadline) {
      await sleep(20);
      left = this.leftovers();
    }
    return left;
  }

  /** Ends what the file left behind while its environment still exists, so its callbacks run here. */
  async closeLeftovers(left) {
    for (const { object, timer } of left) {
      try {
        if (timer) realClearTimeout(object);
        else if (typeof object.kill === 'function') object.kill('SIGKILL');
        else if (typeof object.listen === 'function') {
          object.closeAllConnections?.();
          object.close();
        } else if (typeof object.destroy === 'function') object.destroy();
      } catch {
        // best effort: the file already fails for leaving it
      }
    }
    await sleep(100);
  }

  /** Remembers, for each handle not there at the start, the test or hook after which it was first seen. */
  noteNewHandles() {
    for (const handle of activeHandles()) {
      if (!this.baseline.has(handle) && !this.seen.has(handle)) this.seen.set(handle, `first seen ${this.phase}`);
    }
  }

  /** Ends the process if the file is still loading (top-level awaits) after LOAD_TIMEOUT_MS. */
  watchLoading() {
    this.loading = realSetTimeout(() => {
      const alive = describeAlive().map((line) => `  - ${line}`);
      process.stderr.write(
        `\n[jest] ${this.testPath} was still loading ${LOAD_TIMEOUT_MS} ms after it started (a top-level await that never settles?). ` +
          `Open in this process:\n${alive.join('\n')}\n[jest] exiting with a failure.\n`,
      );
      process.exit(1);
    }, LOAD_TIMEOUT_MS);
  }

  async teardown() {
    realClearTimeout(this.loading);
    await super.teardown();
  }

  async handleTestEvent(event, state) {
    if (event.name === 'setup') this.watchLoading();
    if (event.name === 'run_start') {
      realClearTimeout(this.loading);
      scaleTimeouts(state);
    }
    if (MODE === 'off') return;
    switch (event.name) {
      case 'test_start':
        this.noteNewHandles();
        this.phase = `in test "${testName(event.test)}"`;
        return;
      case 'hook_start':
        if (event.hook.type === 'beforeEach' || event.hook.type === 'afterEach') return; // part of the test
        this.noteNewHandles();
        this.phase = `in ${event.hook.type} hook of "${testName(event.hook.parent) || 'the file'}"`;
        return;
      case 'hook_success':
      case 'hook_failure':
        if (event.hook.type === 'beforeEach' || event.hook.type === 'afterEach') return;
        this.noteNewHandles();
        this.phase = `after the ${this.phase.slice(3)}`;
        return;
      case 'test_done':
        this.noteNewHandles();
        this.phase = `after ${this.phase.slice(3)}`;
        return;
      case 'run_finish':
        break;
      default:
        return;
    }
    const left = await this.waitForLeftovers();
    this.timers.clear();
    this.seen.clear();
    if (!left.length) return;
    const message =
      `${this.testPath}\n  left ${left.length} thing(s) alive ${GRACE_MS} ms after its last test and afterAll hook ` +
      `(close every client, server, subscription, child process and timer it opens):\n` +
      left.map((l) => `    - ${l.text}`).join('\n');
    if (MODE === 'report') {
      process.stderr.write(`[leak-check] ${message}\n`);
    } else {
      const error = new Error(message);
      error.name = 'LeakError';
      error.stack = ''; // the message lists what leaked and where it was created: no stack of the check itself
      state.unhandledErrors.push(error);
    }
    await this.closeLeftovers(left);
  }
}
