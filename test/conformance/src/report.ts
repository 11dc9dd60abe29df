import type { ScenarioResult, TransportReport } from './runner.js';

export interface ConformanceReport {
  generatedAt: string;
  transports: Array<Omit<TransportReport, 'results'> & { results: ScenarioResult[] }>;
}

export function buildReport(transports: TransportReport[], now = new Date()): ConformanceReport {
  return { generatedAt: now.toISOString(), transports };
}

const MARK: Record<ScenarioResult['outcome'], string> = { pass: 'pass', fail: 'FAIL', 'n/a': 'n/a', skipped: 'skip' };

export function claimedFailures(report: ConformanceReport): Array<{ transport: string } & ScenarioResult> {
  return report.transports.flatMap((t) => t.results.filter((r) => r.outcome === 'fail').map((r) => ({ transport: t.name, ...r })));
}

function scenarioIds(report: ConformanceReport): string[] {
  const ids: string[] = [];
  for (const t of report.transports) for (const r of t.results) if (!ids.includes(r.scenario)) ids.push(r.scenario);
  return ids;
}

/** Scenario rows × transport columns, for a terminal. */
export function textMatrix(report: ConformanceReport): string {
  const names = report.transports.map((t) => t.name);
  const ids = scenarioIds(report);
  const width = Math.max(...ids.map((id) => id.length), 'scenario'.length);
  const cols = names.map((n) => Math.max(n.length, 4));
  const row = (first: string, cells: string[]) => [first.padEnd(width), ...cells.map((c, i) => c.padEnd(cols[i]))].join('  ');
  const lines = [
    row('scenario', names),
    row(
      '-'.repeat(width),
      cols.map((w) => '-'.repeat(w)),
    ),
  ];
  for (const id of ids) {
    lines.push(
      row(
        id,
        report.transports.map((t) => MARK[t.results.find((r) => r.scenario === id)?.outcome ?? 'n/a']),
      ),
    );
  }
  lines.push(
    row(
      'passed/claimed',
      report.transports.map((t) => summary(t.results)),
    ),
  );
  return lines.join('\n');
}

function summary(results: ScenarioResult[]): string {
  const claimed = results.filter((r) => r.outcome === 'pass' || r.outcome === 'fail').length;
  const passed = results.filter((r) => r.outcome === 'pass').length;
  const skipped = results.filter((r) => r.outcome === 'skipped').length;
  return skipped && !claimed ? 'skip' : `${passed}/${claimed}`;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function markdownReport(report: ConformanceReport): string {
  const names = report.transports.map((t) => t.name);
  const ids = scenarioIds(report);
  const out: string[] = [
    '# Conformance matrix',
    '',
    `Generated ${report.generatedAt}. \`pass\` / \`FAIL\` for claimed scenarios, \`n/a\` when the transport does not claim the capability, \`skip\` when its backend is unreachable.`,
    '',
    `| scenario | ${names.join(' | ')} |`,
    `|---|${names.map(() => '---').join('|')}|`,
  ];
  for (const id of ids)
    out.push(`| \`${id}\` | ${report.transports.map((t) => MARK[t.results.find((r) => r.scenario === id)?.outcome ?? 'n/a']).join(' | ')} |`);
  out.push(`| **passed / claimed** | ${report.transports.map((t) => summary(t.results)).join(' | ')} |`, '', '## Transports', '');
  for (const t of report.transports) {
    out.push(`### ${t.name} (${t.kind})`, '', `Backend: ${t.backend}${t.available ? '' : ` — **unavailable**: ${t.reason}`}`, '');
    const diffs = Object.entries(t.differences);
    if (diffs.length) {
      out.push('Documented behaviour:', '');
      for (const [id, text] of diffs) out.push(`- \`${id}\`: ${cell(text)}`);
      out.push('');
    }
    const failures = t.results.filter((r) => r.outcome === 'fail');
    if (failures.length) {
      out.push('Failures:', '');
      for (const r of failures) out.push(`- \`${r.scenario}\`: ${cell(r.error ?? '')}`);
      out.push('');
    }
    const na = t.results.filter((r) => r.outcome === 'n/a' && !r.error?.startsWith('not claimed'));
    if (na.length) {
      out.push('Not applicable:', '');
      for (const r of na) out.push(`- \`${r.scenario}\`: ${cell(r.error ?? '')}`);
      out.push('');
    }
  }
  return out.join('\n');
}
