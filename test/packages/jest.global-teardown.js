import { startExitWatchdog } from '../jest/exit-watchdog.js';
import { teardown } from './jest.global-setup.js';

// As for the main run: stop the backends, then jest must exit by itself within the bound.
export default async function globalTeardown() {
  startExitWatchdog(Number(process.env.JEST_EXIT_WATCHDOG_MS ?? 45_000));
  await teardown();
}
