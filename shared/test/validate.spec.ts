import { describe, expect, it } from '@jest/globals';
import { backoffDelay, InvalidOptionError, uniqueName, validateOptions } from '../src/index.js';

describe('validateOptions', () => {
  const check = (options: object) => () =>
    validateOptions('WsClient', options as Record<string, unknown>)
      .known(['url', 'retries', 'codec', 'onAuth', 'tls'])
      .url('url' as never, ['ws', 'wss'])
      .integer('retries' as never, { min: 0, max: 10 })
      .oneOf('codec' as never, ['json', 'msgpack'])
      .func('onAuth' as never)
      .boolean('tls' as never);

  it('accepts valid and absent options', () => {
    expect(check({ url: 'ws://127.0.0.1:1', retries: 3, codec: 'json', onAuth: () => true, tls: false })).not.toThrow();
    expect(check({})).not.toThrow();
  });
  it.each([
    [{ url: 'http://x' }, 'option "url" is "http://x". Use an absolute URL starting with ws:// or wss://.'],
    [{ retries: 1.5 }, 'option "retries" is 1.5. Use a whole number from 0 to 10.'],
    [{ retries: -1 }, 'option "retries" is -1'],
    [{ codec: 'xml' }, 'option "codec" is "xml". Use one of "json", "msgpack".'],
    [{ onAuth: 'yes' }, 'option "onAuth" is a string. Pass a function.'],
    [{ tls: 'on' }, 'option "tls" is "on". Use true or false.'],
    [{ maxPayLoad: 1 }, 'option "maxPayLoad" is not an option of this transport. Remove it, or use one of: url'],
  ])('rejects %j naming option and fix', (options, message) => {
    expect(check(options)).toThrow(InvalidOptionError);
    expect(check(options)).toThrow(message);
  });
});

describe('backoffDelay', () => {
  const opts = { initialDelay: 100, maxDelay: 5000 };
  it('grows exponentially between half and all of the ceiling, capped', () => {
    expect(backoffDelay(0, opts, () => 0)).toBe(50);
    expect(backoffDelay(0, opts, () => 1)).toBe(100);
    expect(backoffDelay(3, opts, () => 1)).toBe(800);
    expect(backoffDelay(20, opts, () => 1)).toBe(5000);
    expect(backoffDelay(20, opts, () => 0)).toBe(2500);
  });
});

describe('uniqueName', () => {
  it('never repeats', () => {
    const names = new Set(Array.from({ length: 1000 }, () => uniqueName('reply')));
    expect(names.size).toBe(1000);
    expect([...names][0]).toMatch(/^reply-[0-9a-f]{8}-[0-9a-z]+$/);
  });
});
