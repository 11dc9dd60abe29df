import { afterEach, describe, expect, it } from '@jest/globals';
import { BACKEND_NAMES, offeredHere, requireUnderCi } from '../src/index.js';
import type { BackendResolution } from '../src/types.js';

const ci = process.env.CI;
afterEach(() => {
  if (ci === undefined) delete process.env.CI;
  else process.env.CI = ci;
});

const missing: BackendResolution = { available: false, name: 'sqs', reason: 'test' };

describe('requireUnderCi', () => {
  it('passes an unavailable backend through outside CI', () => {
    delete process.env.CI;
    expect(requireUnderCi(missing)).toBe(missing);
  });

  it('throws under CI=true when the machine offers the backend', () => {
    process.env.CI = 'true';
    expect(offeredHere('sqs')).toBeDefined();
    expect(() => requireUnderCi(missing)).toThrow(/CI=true: sqs must not be skipped/);
  });

  it('passes available backends through under CI=true', () => {
    process.env.CI = 'true';
    const found: BackendResolution = { available: true, name: 'redis', url: 'redis://127.0.0.1:6379', via: 'local', description: 'x' };
    expect(requireUnderCi(found)).toBe(found);
  });

  it('knows every backend', () => {
    expect(BACKEND_NAMES).toEqual(['redis', 'nats', 'mqtt', 'amqp', 'kafka', 'sqs', 'elasticmq', 'pubsub']);
  });
});
