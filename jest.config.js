// One jest run over every package. Sources are tested directly (swc), so a package's
// tests see its siblings' sources through the moduleNameMapper, not their dist/.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      target: 'es2022',
      transform: { legacyDecorator: true, decoratorMetadata: true },
    },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  },
];

export default {
  testEnvironment: '<rootDir>/test/jest/environment.js',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: {
    '^@nest-transports/shared$': '<rootDir>/shared/src/index.ts',
    '^@nest-transports/ws$': '<rootDir>/transports/ws/src/index.ts',
    '^@nest-transports/sqs$': '<rootDir>/transports/sqs/src/index.ts',
    '^@nest-transports/pubsub$': '<rootDir>/transports/pubsub/src/index.ts',
    '^@nest-transports/jetstream$': '<rootDir>/transports/jetstream/src/index.ts',
    '^@nest-transports/redis-streams$': '<rootDir>/transports/redis-streams/src/index.ts',
    '^@nest-transports/backends$': '<rootDir>/test/backends/src/index.ts',
    '^@nest-transports/conformance$': '<rootDir>/test/conformance/src/index.ts',
    '^@nest-transports/package-tests$': '<rootDir>/test/packages/src/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testMatch: ['<rootDir>/**/test/**/*.spec.ts', '<rootDir>/examples/**/*.spec.ts'],
  // test/packages runs on its own (npm run test:packages, a stage of .ci/run): it packs and installs.
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '<rootDir>/test/packages/'],
  setupFiles: ['<rootDir>/jest.setup.js'],
  globalSetup: '<rootDir>/jest.global-setup.js',
  globalTeardown: '<rootDir>/jest.global-teardown.js',
  testTimeout: 30000,
};
