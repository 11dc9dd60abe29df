// `npm run test:packages`: the published packages as users get them — packed tarballs installed
// in fresh Nest 12 (ESM) and Nest 11 (CommonJS) apps outside the workspace. See test/packages.
import base from './jest.config.js';

export default {
  ...base,
  testMatch: ['<rootDir>/test/packages/test/**/*.spec.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  globalSetup: '<rootDir>/test/packages/jest.global-setup.js',
  globalTeardown: '<rootDir>/test/packages/jest.global-teardown.js',
  testTimeout: 5 * 60_000,
};
