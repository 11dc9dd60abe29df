import { describe, expect, it } from '@jest/globals';
import { defineTransport } from '../src/descriptor.js';
import { descriptorProblems } from '../src/validate.js';
import { fake } from './fakes.js';

describe('descriptor validation', () => {
  it('accepts a complete descriptor', () => {
    expect(descriptorProblems(fake({ differences: { 'rr.basic': 'fine' }, notApplicable: { 'ev.order': 'no order here' } }))).toEqual([]);
  });

  it('rejects keys of differences/notApplicable that are not scenario ids, with a hint', () => {
    const base = fake();
    expect(() => defineTransport({ ...base, differences: { 'rr.*': 'everything' } })).toThrow(/differences: "rr\.\*" is not a scenario id.*no wildcards/);
    expect(() => defineTransport({ ...base, notApplicable: { 'rr.basics': 'x' } })).toThrow(/"rr\.basics" is not a scenario id \(did you mean rr\.basic\?\)/);
    expect(() => defineTransport({ ...base, differences: { setup: 'x' } })).toThrow(/notes about the whole transport go in `notes`/);
    expect(descriptorProblems({ ...base, differences: { 'rr.basic': '' } })).toEqual(['differences: rr.basic needs a text saying why']);
  });

  it('names every other problem at once: capabilities, fields, clients, removed options', () => {
    const problems = descriptorProblems({
      name: 'x',
      kind: 'plugin',
      capabilities: ['requestResponse', 'telepathy'],
      resolve: async () => ({ available: true, description: '' }),
      server: () => ({}),
      knownStrayErrors: [/x/],
      beforeServerClose: async () => {},
      clientFirst: 'sometimes',
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^knownStrayErrors: removed/),
        expect.stringMatching(/^beforeServerClose: removed/),
        'backend: required (see the descriptor reference in the README)',
        `kind: must be 'custom' or 'builtin', got "plugin"`,
        'client: give client(env, codecs) or hostedClient(env, codecs)',
        `clientFirst: must be 'queues', 'errors' or 'drops', got "sometimes"`,
        expect.stringMatching(/^capabilities: unknown capability "telepathy"/),
      ]),
    );
    expect(descriptorProblems({ ...fake(), hostedClient: () => ({ imports: [], token: 'x' }) })).toEqual(['client: give client or hostedClient, not both']);
    expect(descriptorProblems({ ...fake(), clinet: () => null })[0]).toMatch(/^clinet: unknown field/);
  });
});
