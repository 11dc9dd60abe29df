import type { Capability } from './capabilities.js';
import type { TransportDescriptor } from './descriptor.js';
import type { Rig } from './rig.js';

/** A pattern name relative to the run's namespace: `'sum'` is `${ns}.sum`; an object gets `ns` added (`{ cmd: 'sum' }` is `{ ns, cmd: 'sum' }`). */
export type PatternName = string | Record<string, string>;

export interface Scenario {
  /** Stable id, e.g. `rr.basic`. */
  id: string;
  title: string;
  /** Capabilities the transport must claim; otherwise the scenario is `n/a`. */
  needs: Capability[];
  /** Every pattern the scenario sends or emits to, by the kind of its handler (also those without a handler). */
  patterns: { messages?: PatternName[]; events?: PatternName[] };
  /** What the client sends: payloads, counts, order. */
  sends: string;
  /** What must hold for the scenario to pass. */
  asserts: string;
  /** Packages the scenario needs besides the transport (resolved from @nestjs/common); missing → `skipped`, with the install line. */
  requires?: string[];
  /** A reason the scenario cannot run against this descriptor (a missing hook), or undefined. */
  notApplicable?(t: TransportDescriptor): string | undefined;
  /** Overrides the runner's default time limit. */
  timeoutMs?: number;
  run(rig: Rig): Promise<void>;
}
