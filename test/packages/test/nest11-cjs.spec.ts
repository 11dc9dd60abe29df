import { describeFreshApp } from './fresh-app.js';

// The compiler options of Nest 11's starter (nestjs/typescript-starter): a CommonJS package
// compiled with module nodenext, which loads our ESM packages through Node's require(esm).
// Made stricter than the starter (strict, no skipLibCheck) so that typing problems show.
const starter = {
  module: 'nodenext',
  moduleResolution: 'nodenext',
  resolvePackageJsonExports: true,
  esModuleInterop: true,
  isolatedModules: true,
  declaration: true,
  removeComments: true,
  emitDecoratorMetadata: true,
  experimentalDecorators: true,
  allowSyntheticDefaultImports: true,
  target: 'ES2023',
  sourceMap: true,
  outDir: './dist',
  rootDir: './src',
  baseUrl: './',
  incremental: true,
  forceConsistentCasingInFileNames: true,
  strict: true,
  skipLibCheck: false,
};

// Apps started from Nest 10's starter (and many Nest 11 apps) compile with module commonjs and
// node10 resolution, which reads typesVersions instead of exports. The @nats-io v3 clients' own types
// import a package export (`@nats-io/nats-core/internal`) node10 cannot resolve: the `paths` line the
// JetStream README gives such apps.
const legacy = {
  ...starter,
  module: 'commonjs',
  moduleResolution: 'node10',
  resolvePackageJsonExports: false,
  noEmit: true,
  incremental: false,
  paths: { '@nats-io/nats-core/internal': ['node_modules/@nats-io/nats-core/lib/internal_mod'] },
};

describeFreshApp({
  name: 'nest11-cjs',
  packageJson: {
    dependencies: {
      '@nestjs/common': '^11.0.0',
      '@nestjs/core': '^11.0.0',
      '@nestjs/microservices': '^11.0.0',
      '@nestjs/platform-express': '^11.0.0',
      '@nestjs/config': '^4.0.0',
      '@aws-sdk/client-sqs': '^3.1000.0',
      '@google-cloud/pubsub': '^5.3.1',
      '@nats-io/jetstream': '^3.4.0',
      ioredis: '^5.0.0',
      '@nats-io/transport-node': '^3.4.0',
      'reflect-metadata': '^0.2.2',
      rxjs: '^7.8.1',
    },
    devDependencies: { typescript: '^5.7.3', '@types/node': '^20.19.0' },
  },
  tsconfigs: {
    'tsconfig.json': { compilerOptions: starter, include: ['src'], exclude: ['src/snippets/browser'] },
    'tsconfig.commonjs.json': { compilerOptions: legacy, include: ['src'], exclude: ['src/snippets/browser'] },
    'tsconfig.browser.json': { compilerOptions: { ...legacy, lib: ['ES2023', 'DOM'], types: [] }, include: ['src/snippets/browser'] },
  },
  module: 'commonjs',
  nestMajor: 11,
  builds: [
    { config: 'tsconfig.json', snippets: 'node' },
    { config: 'tsconfig.commonjs.json', snippets: 'node' },
    { config: 'tsconfig.browser.json', snippets: 'browser' },
  ],
});
