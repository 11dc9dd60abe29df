import { CAPABILITIES } from './capabilities.js';
import type { TransportDescriptor } from './descriptor.js';
import { scenarios } from './scenarios/index.js';

export class DescriptorError extends Error {
  override name = 'DescriptorError';
}

const FIELDS: Record<string, 'string' | 'function' | 'object' | 'number' | 'array'> = {
  name: 'string',
  kind: 'string',
  backend: 'string',
  capabilities: 'array',
  differences: 'object',
  notApplicable: 'object',
  notes: 'array',
  resolve: 'function',
  prepare: 'function',
  cleanup: 'function',
  cleanupRun: 'function',
  server: 'function',
  client: 'function',
  hostedClient: 'function',
  unreachableClient: 'function',
  clientFirst: 'string',
  noHandler: 'object',
  statusAfterClose: 'object',
  payload: 'object',
  checkContext: 'function',
  metadata: 'object',
  codecs: 'object',
  handlerPattern: 'function',
  reply: 'function',
  slowReader: 'function',
  requiredInCi: 'function',
  wire: 'function',
  adaptHandler: 'function',
  timeoutMs: 'number',
};

const REMOVED: Record<string, string> = {
  knownStrayErrors: 'removed: every row follows the same rules (an unhandled error raised while a server or client closes is reported as a leak)',
  beforeServerClose: 'removed: the suite waits for nothing transport-specific before closing a server',
};

/** The closest catalogue id, for "did you mean". */
function closest(id: string, ids: string[]): string | undefined {
  const distance = (a: string, b: string) => {
    const row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
      let prev = row[0];
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const next = row[j];
        row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = next;
      }
    }
    return row[b.length];
  };
  const best = ids.map((candidate) => ({ candidate, d: distance(id, candidate) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= Math.max(3, id.length / 3) ? best.candidate : undefined;
}

/** Every problem of a descriptor, as sentences naming the field and the fix; empty when it is valid. */
export function descriptorProblems(d: unknown): string[] {
  if (!d || typeof d !== 'object') return ['a descriptor must be an object (export default defineTransport({ ... }))'];
  const t = d as Record<string, unknown>;
  const problems: string[] = [];
  for (const [key, value] of Object.entries(t)) {
    if (REMOVED[key]) problems.push(`${key}: ${REMOVED[key]}`);
    else if (!(key in FIELDS)) problems.push(`${key}: unknown field (known: ${Object.keys(FIELDS).join(', ')})`);
    else if (value !== undefined) {
      const want = FIELDS[key];
      const got = Array.isArray(value) ? 'array' : typeof value;
      if (got !== want) problems.push(`${key}: must be ${want === 'array' ? 'an array' : `a ${want}`}, got ${got}`);
    }
  }
  for (const key of ['name', 'kind', 'backend', 'capabilities', 'resolve', 'server'])
    if (t[key] === undefined) problems.push(`${key}: required (see the descriptor reference in the README)`);
  if (t.kind !== undefined && t.kind !== 'custom' && t.kind !== 'builtin') problems.push(`kind: must be 'custom' or 'builtin', got ${JSON.stringify(t.kind)}`);
  if (!t.client && !t.hostedClient) problems.push('client: give client(env, codecs) or hostedClient(env, codecs)');
  if (t.client && t.hostedClient) problems.push('client: give client or hostedClient, not both');
  if (t.clientFirst !== undefined && !['queues', 'errors', 'drops'].includes(t.clientFirst as string))
    problems.push(`clientFirst: must be 'queues', 'errors' or 'drops', got ${JSON.stringify(t.clientFirst)}`);
  if (Array.isArray(t.capabilities)) {
    const known: readonly string[] = CAPABILITIES;
    for (const c of t.capabilities)
      if (!known.includes(c as string)) problems.push(`capabilities: unknown capability ${JSON.stringify(c)} (known: ${CAPABILITIES.join(', ')})`);
  }
  const ids = scenarios.map((s) => s.id);
  for (const field of ['differences', 'notApplicable'] as const) {
    const map = t[field];
    if (!map || typeof map !== 'object') continue;
    for (const [id, text] of Object.entries(map)) {
      if (!ids.includes(id)) {
        const hint = closest(id, ids);
        problems.push(
          `${field}: ${JSON.stringify(id)} is not a scenario id${hint ? ` (did you mean ${hint}?)` : ''}; keys are catalogue ids, one per scenario, no wildcards — notes about the whole transport go in \`notes\``,
        );
      } else if (typeof text !== 'string' || !text.trim()) problems.push(`${field}: ${id} needs a text saying why`);
    }
  }
  return problems;
}

/** Throws a DescriptorError listing every problem of the descriptor. */
export function validateDescriptor(d: unknown): asserts d is TransportDescriptor {
  const problems = descriptorProblems(d);
  if (!problems.length) return;
  const name = (d as { name?: unknown })?.name;
  throw new DescriptorError(`invalid transport descriptor${typeof name === 'string' ? ` "${name}"` : ''}:\n  - ${problems.join('\n  - ')}`);
}
