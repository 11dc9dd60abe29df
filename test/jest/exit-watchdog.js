// The last line of defence behind the per-file leak check (environment.js): once jest's global
// teardown begins, the process has a bounded time to stop the backends and exit by itself. If
// something still keeps it alive, the watchdog prints what (sockets with both ends, servers, child
// processes, timers) and exits with a failure: `npm test` never hangs, and never hides the leak.
import { describeAlive } from './resources.js';

export function startExitWatchdog(ms) {
  const timer = setTimeout(() => {
    const stdio = new Set([process.stdin, process.stdout, process.stderr]);
    const alive = describeAlive((h) => !stdio.has(h)).map((line) => `  - ${line}`);
    process.stderr.write(
      `\n[jest] FAILED TO EXIT: still alive ${ms} ms after the global teardown began. What kept it alive:\n` +
        `${alive.join('\n') || "  (nothing ref'ed that Node lists: a native addon or a worker thread?)"}\n` +
        '[jest] exiting with a failure: whatever opened these must close them.\n',
    );
    process.exit(1);
  }, ms);
  timer.unref();
}
