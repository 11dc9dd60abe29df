import { type Versions, versions as currentVersions } from './environment.js';
import { RULES, type ScenarioResult, type TransportReport } from './runner.js';

export interface ConformanceReport {
  generatedAt: string;
  /** True for a `--probe` run: every capability was assumed claimed, to find out what the transports do. Not a verdict. */
  probe: boolean;
  suite: string;
  node: string;
  nest: Versions['nest'];
  platform: string;
  /** The rules every row was judged by. */
  rules: string[];
  transports: TransportReport[];
}

export function buildReport(
  transports: TransportReport[],
  opts: { now?: Date; probe?: boolean; versions?: Versions; failOnLeaks?: boolean } = {},
): ConformanceReport {
  const v = opts.versions ?? currentVersions();
  return {
    generatedAt: (opts.now ?? new Date()).toISOString(),
    probe: Boolean(opts.probe),
    suite: v.suite,
    node: v.node,
    nest: v.nest,
    platform: v.platform,
    rules: opts.failOnLeaks ? [...RULES, 'This run used --fail-on-leaks: a leak fails its scenario.'] : RULES,
    transports,
  };
}

/** Where a report is written: a probe never overwrites a verdict. */
export const reportBaseName = (probe: boolean) => (probe ? 'conformance-probe' : 'conformance');

const MARK: Record<ScenarioResult['outcome'], string> = { pass: 'pass', fail: 'FAIL', 'n/a': 'n/a', skipped: 'skip' };

const mark = (r: ScenarioResult | undefined) => (r ? `${MARK[r.outcome]}${r.leaks?.length ? '*' : ''}` : 'n/a');

/** Failed scenarios of every row, plus each row's run-level errors (as scenario `(run)`). */
export function claimedFailures(report: ConformanceReport): Array<{ transport: string; scenario: string; error: string | null }> {
  return report.transports.flatMap((t) => [
    ...t.results.filter((r) => r.outcome === 'fail').map((r) => ({ transport: t.name, scenario: r.scenario, error: r.error })),
    ...(t.errors ?? []).map((error) => ({ transport: t.name, scenario: '(run)', error })),
  ]);
}

function scenarioIds(report: ConformanceReport): string[] {
  const ids: string[] = [];
  for (const t of report.transports) for (const r of t.results) if (!ids.includes(r.scenario)) ids.push(r.scenario);
  return ids;
}

function summary(results: ScenarioResult[]): string {
  const claimed = results.filter((r) => r.outcome === 'pass' || r.outcome === 'fail').length;
  const passed = results.filter((r) => r.outcome === 'pass').length;
  const skipped = results.filter((r) => r.outcome === 'skipped').length;
  return skipped && !claimed ? 'skip' : `${passed}/${claimed}`;
}

function title(report: ConformanceReport): string {
  return report.probe ? 'Conformance PROBE (every capability assumed claimed — not a verdict)' : 'Conformance matrix';
}

function versionLine(report: ConformanceReport): string {
  const n = report.nest;
  return `${report.suite}, Node ${report.node}, @nestjs/common ${n.common ?? '?'}, @nestjs/core ${n.core ?? '?'}, @nestjs/microservices ${n.microservices ?? '?'} (${report.platform})`;
}

/** Scenario rows × transport columns, for a terminal. */
export function textMatrix(report: ConformanceReport): string {
  const names = report.transports.map((t) => t.name);
  const ids = scenarioIds(report);
  const width = Math.max(...ids.map((id) => id.length), 'passed/claimed'.length);
  const cols = names.map((n) => Math.max(n.length, 5));
  const row = (first: string, cells: string[]) => [first.padEnd(width), ...cells.map((c, i) => c.padEnd(cols[i]))].join('  ');
  const lines = [
    `${title(report)} — ${versionLine(report)}`,
    '',
    row('scenario', names),
    row(
      '-'.repeat(width),
      cols.map((w) => '-'.repeat(w)),
    ),
  ];
  for (const id of ids)
    lines.push(
      row(
        id,
        report.transports.map((t) => mark(t.results.find((r) => r.scenario === id))),
      ),
    );
  lines.push(
    row(
      'passed/claimed',
      report.transports.map((t) => summary(t.results)),
    ),
  );
  if (report.transports.some((t) => t.results.some((r) => r.leaks?.length)))
    lines.push('', '* an unhandled error was raised while a server or client closed (a leak; see the report)');
  return lines.join('\n');
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function markdownReport(report: ConformanceReport): string {
  const names = report.transports.map((t) => t.name);
  const ids = scenarioIds(report);
  const out: string[] = [
    `# ${title(report)}`,
    '',
    `Generated ${report.generatedAt} by ${versionLine(report)}.`,
    '',
    ...(report.probe
      ? [
          '**This is a probe**: every scenario ran as if the transport claimed every capability, to find out what it does. Its failures are findings, not a verdict; the claims of each descriptor are listed below.',
          '',
        ]
      : []),
    '`pass` / `FAIL` for claimed scenarios, `n/a` when the transport does not claim the capability (or the scenario does not fit it), `skip` when its backend or a package is missing; `*` marks a leak (an unhandled error raised while a server or client closed).',
    '',
    `| scenario | ${names.join(' | ')} |`,
    `|---|${names.map(() => '---').join('|')}|`,
  ];
  for (const id of ids) out.push(`| \`${id}\` | ${report.transports.map((t) => mark(t.results.find((r) => r.scenario === id))).join(' | ')} |`);
  out.push(`| **passed / claimed** | ${report.transports.map((t) => summary(t.results)).join(' | ')} |`, '', '## Rules (the same for every row)', '');
  for (const rule of report.rules) out.push(`- ${rule}`);
  out.push('', '## Transports', '');
  for (const t of report.transports) {
    out.push(`### ${t.name} (${t.kind})`, '', `Backend: ${t.backend}${t.available ? '' : ` — **unavailable**: ${t.reason}`}`, '');
    out.push(`Claims: ${t.capabilities.length ? t.capabilities.map((c) => `\`${c}\``).join(', ') : 'nothing'}`, '');
    for (const note of t.notes ?? []) out.push(`Note: ${cell(note)}`, '');
    const section = (heading: string, entries: Array<[string, string]>) => {
      if (!entries.length) return;
      out.push(`${heading}:`, '');
      for (const [id, text] of entries) out.push(`- \`${id}\`: ${cell(text)}`);
      out.push('');
    };
    section(
      'Errors of the run',
      (t.errors ?? []).map((e) => ['(run)', e]),
    );
    section(
      'Failures',
      t.results.filter((r) => r.outcome === 'fail').map((r) => [r.scenario, r.error ?? '']),
    );
    section(
      'Leaks',
      t.results.flatMap((r) => (r.leaks ?? []).map((l): [string, string] => [r.scenario, l])),
    );
    section('Documented behaviour', Object.entries(t.differences));
    section(
      'Not applicable',
      t.results.filter((r) => r.outcome === 'n/a' && !r.error?.startsWith('not claimed')).map((r) => [r.scenario, r.error ?? '']),
    );
    section('Skipped', t.available ? t.results.filter((r) => r.outcome === 'skipped').map((r) => [r.scenario, r.error ?? '']) : []);
  }
  return out.join('\n');
}
