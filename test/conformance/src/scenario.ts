import type { Capability, TransportDescriptor } from './descriptor.js';
import type { Rig } from './rig.js';

export interface Scenario {
  /** Stable id, e.g. `rr.basic`. */
  id: string;
  title: string;
  /** Capabilities the transport must claim; otherwise the scenario is `n/a`. */
  needs: Capability[];
  /** A reason the scenario cannot run against this descriptor (a missing hook), or undefined. */
  notApplicable?(t: TransportDescriptor): string | undefined;
  /** Overrides the runner's default time limit. */
  timeoutMs?: number;
  run(rig: Rig): Promise<void>;
}
