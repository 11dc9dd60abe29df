/** One `tsc` error: `src/x.ts(3,5): error TS2322: …` plus its indented continuation lines. */
export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  code: string;
  text: string;
}

/** Parses `tsc --pretty false` output; errors without a file (e.g. in tsconfig) get file ''. */
export function parseTscOutput(output: string): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  for (const line of output.split('\n')) {
    const located = /^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/.exec(line);
    const global = /^error (TS\d+): (.*)$/.exec(line);
    if (located) {
      diagnostics.push({ file: located[1]!, line: Number(located[2]), column: Number(located[3]), code: located[4]!, text: located[5]! });
    } else if (global) {
      diagnostics.push({ file: '', line: 0, column: 0, code: global[1]!, text: global[2]! });
    } else if (line.startsWith(' ') && diagnostics.length > 0) {
      diagnostics[diagnostics.length - 1]!.text += `\n${line}`;
    }
  }
  return diagnostics;
}

export function formatDiagnostics(diagnostics: readonly Diagnostic[]): string {
  return diagnostics.map((d) => `${d.file}(${d.line},${d.column}): ${d.code}: ${d.text}`).join('\n');
}
