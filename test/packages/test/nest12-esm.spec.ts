import { describeFreshApp } from './fresh-app.js';

const compilerOptions = {
  module: 'nodenext',
  moduleResolution: 'nodenext',
  target: 'ES2023',
  strict: true,
  skipLibCheck: false,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  declaration: true,
  sourceMap: true,
  outDir: './dist',
  rootDir: './src',
  types: ['node'],
};

// Nest 12 is ESM only: an ESM app ("type": "module") with strict TypeScript 6 and no skipLibCheck.
describeFreshApp({
  name: 'nest12-esm',
  packageJson: {
    type: 'module',
    dependencies: {
      '@nestjs/common': '^12.0.0',
      '@nestjs/core': '^12.0.0',
      '@nestjs/microservices': '^12.0.0',
      '@nestjs/platform-express': '^12.0.0',
      '@nestjs/config': '^12.0.0',
      '@aws-sdk/client-sqs': '^3.1000.0',
      '@google-cloud/pubsub': '^5.3.1',
      '@nats-io/jetstream': '^3.4.0',
      ioredis: '^5.0.0',
      '@nats-io/transport-node': '^3.4.0',
      'reflect-metadata': '^0.2.2',
      rxjs: '^7.8.1',
    },
    devDependencies: { typescript: '~6.0.3', '@types/node': '^20.19.0' },
  },
  tsconfigs: {
    'tsconfig.json': { compilerOptions, include: ['src'], exclude: ['src/snippets/browser'] },
    // The browser client, in a browser build of the same app: DOM, no Node types.
    'tsconfig.browser.json': { compilerOptions: { ...compilerOptions, lib: ['ES2023', 'DOM'], types: [], noEmit: true }, include: ['src/snippets/browser'] },
  },
  module: 'esm',
  nestMajor: 12,
  builds: [
    { config: 'tsconfig.json', snippets: 'node' },
    { config: 'tsconfig.browser.json', snippets: 'browser' },
  ],
});
