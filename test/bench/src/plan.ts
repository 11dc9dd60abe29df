import type { WorkloadName } from './types.js';

export interface WorkloadPlan {
  workload: WorkloadName;
  inFlight: number;
  /** Messages per round at most (before the target's scale). */
  messages: number;
}

export interface Plan {
  quick: boolean;
  rounds: number;
  /**
   * Longest a measured round issues new operations. Short rounds keep a row's round close in time
   * to its baseline's, so that what the machine does meanwhile hits both (a target's `roundMs` may
   * be longer: a backend with tens of ms per hop needs longer rounds to count enough messages).
   */
  roundMs: number;
  warmupMs: number;
  /** A round ends when nothing completed for this long. */
  stallMs: number;
  workloads: WorkloadPlan[];
}

/** Short workload names for --workloads. */
export const workloadKey = (w: WorkloadPlan) => (w.workload === 'events' ? 'events' : `rr${w.inFlight}`);

export function makePlan(quick: boolean, only?: string[]): Plan {
  const plan = basePlan(quick);
  if (only) plan.workloads = plan.workloads.filter((w) => only.includes(workloadKey(w)));
  return plan;
}

function basePlan(quick: boolean): Plan {
  return quick
    ? {
        quick,
        rounds: 1,
        roundMs: 400,
        warmupMs: 150,
        stallMs: 5000,
        workloads: [
          { workload: 'request-response', inFlight: 1, messages: 1000 },
          { workload: 'request-response', inFlight: 100, messages: 5000 },
          { workload: 'events', inFlight: 100, messages: 5000 },
        ],
      }
    : {
        quick,
        rounds: 15,
        roundMs: 500,
        warmupMs: 600,
        stallMs: 10_000,
        workloads: [
          { workload: 'request-response', inFlight: 1, messages: 10_000 },
          { workload: 'request-response', inFlight: 100, messages: 50_000 },
          { workload: 'events', inFlight: 100, messages: 60_000 },
        ],
      };
}
