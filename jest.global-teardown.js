import { testTimeScale } from './test/backends/dist/time-scale.js';
import { startExitWatchdog } from './test/jest/exit-watchdog.js';
import { teardown } from './jest.global-setup.js';

// Time to stop the backends (emulators, brokers: SIGTERM, then SIGKILL after 10 s) and for jest to
// write its results and exit. Past that the watchdog reports what is still alive and exits.
// Stretched by TEST_TIME_SCALE like every bound of the run.
const EXIT_WITHIN_MS = Math.round(Number(process.env.JEST_EXIT_WATCHDOG_MS ?? 45_000) * testTimeScale());

export default async function globalTeardown() {
  startExitWatchdog(EXIT_WITHIN_MS);
  await teardown();
}
