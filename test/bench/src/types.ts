import type { BackendName } from '@nest-transports/backends';

export type RowKind = 'transport' | 'baseline' | 'peer';
export type WorkloadName = 'request-response' | 'events';

/** One row of reports/bench.json (DESIGN.md "Benchmarks"), plus a few optional extras. */
export interface ResultRow {
  name: string;
  kind: RowKind;
  workload: WorkloadName;
  inFlight: number;
  messages: number;
  throughputPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Peak RSS of the server process during the measured rounds. */
  rssMb: number;
  // extras (not in the DESIGN schema's minimum, never needed by readers of it)
  clientRssMb?: number;
  /** The baseline this row is compared with, and throughput ÷ the baseline's. */
  baseline?: string;
  ratio?: number;
  /** Events only: rate at which the client's emits completed (sent), end-to-end is throughputPerSec. */
  sendPerSec?: number;
  /** CPU time per message in the server and client processes (µs), over the measured rounds: steadier than wall-clock figures on a busy machine. */
  serverCpuUs?: number;
  clientCpuUs?: number;
  rounds?: number;
  /** Each measured round, in order (rounds of one family were interleaved: round r of every row ran together). */
  perRound?: RoundFigures[];
  /** Throughput ÷ the baseline's per round (`ratio` is their median), when both rows ran interleaved. */
  ratioRounds?: number[];
  /** 95% confidence interval of `ratio` (distribution-free, of the median per-round ratio when interleaved). */
  ratioInterval?: [number, number];
  /** Width of that interval ÷ `ratio`, or of this row's own throughput median when it has no baseline. */
  spread?: number;
  /** `spread` > 0.2: the figure is too uncertain to read as a result. */
  noise?: boolean;
  note?: string;
}

export interface RoundFigures {
  throughputPerSec: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuUs: number;
  clientCpuUs: number;
  sendPerSec?: number;
}

export interface SkippedRow {
  name: string;
  kind: RowKind;
  reason: string;
}

/** What every target's server side gets. */
export interface ServerEnv {
  /** Unique per target run: prefix queues, topics, subscriptions with it. */
  ns: string;
  /** Backend address from resolveBackend(), when the target has a backend. */
  url?: string;
  /** Called by the server for every event it handles. */
  onEvent(data: BenchPayload): void;
}

export interface ClientEnv {
  ns: string;
  url?: string;
  /** What the server's start() returned (e.g. its port). */
  info: Record<string, unknown>;
}

export interface RunningServer {
  info?: Record<string, unknown>;
  close(): Promise<void>;
}

export interface BenchClient {
  /** One request; resolves with the reply. */
  request(data: BenchPayload): Promise<unknown>;
  /** One event; resolves once it is handed to the transport/backend. */
  emit(data: BenchPayload): Promise<unknown>;
  close(): Promise<void>;
}

/** The data of every request and event (the same JSON for every target). */
export interface BenchPayload {
  i: number;
  /** Epoch ms (fractional) when the client sent it. */
  t: number;
  text: string;
}

export interface TargetModule {
  startServer(env: ServerEnv): Promise<RunningServer>;
  startClient(env: ClientEnv): Promise<BenchClient>;
}

export interface TargetSpec {
  name: string;
  kind: RowKind;
  /** Row this one's throughput is divided by. */
  baseline?: string;
  backend?: BackendName;
  /** Workloads it runs (default: all). */
  workloads?: WorkloadName[];
  /** Multiplies message counts (slow backends < 1). */
  scale?: number;
  /**
   * Rows of one family run with all their processes up and their rounds interleaved (a transport
   * with its baselines); a row without one runs on its own.
   */
  family?: string;
  /** Longest a measured round issues new operations in a full run, when longer than the plan's (tens of ms per hop). */
  roundMs?: number;
  /** Events in flight from the client at once (default 100). */
  emitWindow?: number;
  /** Why it cannot run here, decided before starting (e.g. a peer that is not installed). */
  unavailable?: () => Promise<string | undefined>;
  load(): Promise<TargetModule>;
  /** Text shown next to its rows. */
  note?: string;
}
