import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { catalogueMarkdown } from '../src/catalogue.js';
import { scenarios } from '../src/scenarios/index.js';

describe('the scenario catalogue', () => {
  it('SCENARIOS.md is the catalogue as the code has it (regenerate: node dist/cli.js --catalogue > SCENARIOS.md)', () => {
    expect(readFileSync(new URL('../SCENARIOS.md', import.meta.url), 'utf8')).toBe(`${catalogueMarkdown()}\n`);
  });

  it('lists every scenario with its patterns', () => {
    const md = catalogueMarkdown();
    for (const s of scenarios) expect(md).toContain(`| \`${s.id}\` `);
    expect(md).toContain('`{"ns":"ns","cmd":"sum"}`');
  });
});

describe('the README', () => {
  it("shows the example's descriptor verbatim (the file the tarball test runs)", () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const descriptor = readFileSync(new URL('../../../examples/third-party-transport/memory.conformance.js', import.meta.url), 'utf8');
    expect(readme).toContain(`\`\`\`js\n${descriptor}\`\`\``);
  });
});
