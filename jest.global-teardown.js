import { startExitWatchdog } from './test/jest/exit-watchdog.js';
import { teardown } from './jest.global-setup.js';

// Time to stop the backends (emulators, brokers: SIGTERM, then SIGKILL after 10 s) and for jest to
// write its results and exit. Past that the watchdog reports what is still alive and exits.
const EXIT_WITHIN_MS = Number(process.env.JEST_EXIT_WATCHDOG_MS ?? 45_000);

export default async function globalTeardown() {
  startExitWatchdog(EXIT_WITHIN_MS);
  await teardown();
}
