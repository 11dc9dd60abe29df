import { readFileSync } from 'node:fs';
import path from 'node:path';

/** A TypeScript code block of a README. */
export interface Snippet {
  /** `README.md:38` — the file and the line of its opening fence. */
  id: string;
  /** Markdown file, relative to the root it was read from. */
  file: string;
  line: number;
  code: string;
  /** It imports `@nest-transports/ws/browser`: compiled for a browser (DOM, no Node types). */
  browser: boolean;
}

/** Every ```ts / ```typescript block of the given markdown files (paths relative to `root`). */
export function extractSnippets(root: string, files: readonly string[]): Snippet[] {
  const snippets: Snippet[] = [];
  for (const file of files) {
    const lines = readFileSync(path.join(root, file), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (!/^```(ts|typescript)\s*$/.test(lines[i]!)) continue;
      const start = i;
      const body: string[] = [];
      for (i++; i < lines.length && !lines[i]!.startsWith('```'); i++) body.push(lines[i]!);
      const code = body.join('\n');
      snippets.push({ id: `${file}:${start + 1}`, file, line: start + 1, code, browser: /from '@nest-transports\/ws\/browser'/.test(code) });
    }
  }
  return snippets;
}

/**
 * What a README snippet takes for granted: the Nest imports a reader has at the top of the file,
 * and the names it leaves to the reader (`AppModule`, `projectId`…). Each entry is added only when
 * the snippet uses the name and does not import or declare it itself.
 */
export const README_CONTEXT: ReadonlyArray<{ name: string; code: string; browser?: boolean }> = [
  { name: 'NestFactory', code: "import { NestFactory } from '@nestjs/core';" },
  { name: 'Module', code: "import { Module } from '@nestjs/common';" },
  { name: 'Controller', code: "import { Controller } from '@nestjs/common';" },
  { name: 'Inject', code: "import { Inject } from '@nestjs/common';" },
  { name: 'ClientsModule', code: "import { ClientsModule } from '@nestjs/microservices';" },
  { name: 'ClientProxy', code: "import { ClientProxy } from '@nestjs/microservices';" },
  { name: 'ConfigModule', code: "import { ConfigModule } from '@nestjs/config';" },
  { name: 'ConfigService', code: "import { ConfigService } from '@nestjs/config';" },
  { name: 'AppModule', code: 'declare class AppModule {}' },
  { name: 'projectId', code: 'declare const projectId: string;' },
  { name: 'order', code: 'declare const order: { id: string; items: number[] };' },
  { name: 'client', code: "declare const client: import('@nestjs/microservices').ClientProxy;" },
  { name: 'render', code: 'declare function render(value: unknown): void;', browser: true },
];

const IMPORT_LINE = /^import\s/;

function namesImported(imports: string): Set<string> {
  const names = new Set<string>();
  for (const m of imports.matchAll(/import\s+(?:type\s+)?(?:(\w+)\s*,?\s*)?(?:\{([^}]*)\})?\s*from/g)) {
    if (m[1]) names.add(m[1]);
    for (const part of (m[2] ?? '').split(',')) {
      const name = part
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/)
        .pop();
      if (name) names.add(name);
    }
  }
  return names;
}

function namesDeclared(code: string): Set<string> {
  return new Set(
    [...code.matchAll(/^(?:export\s+)?(?:declare\s+)?(?:abstract\s+)?(?:class|const|let|var|function|interface|type|enum)\s+(\w+)/gm)].map((m) => m[1]!),
  );
}

/**
 * A module that compiles the snippet as written: its own imports first, the README context it
 * relies on, then its code — at module level when it declares classes or exports, otherwise in an
 * async function (README snippets use `await` as in a `bootstrap()` function).
 */
export function snippetModule(snippet: Snippet, context = README_CONTEXT): string {
  const lines = snippet.code.split('\n');
  let split = 0;
  while (split < lines.length && (IMPORT_LINE.test(lines[split]!) || lines[split]!.trim() === '')) split++;
  const imports = lines.slice(0, split).join('\n');
  const body = lines.slice(split).join('\n');
  const own = new Set([...namesImported(imports), ...namesDeclared(body)]);
  const prelude = context
    .filter((entry) => (snippet.browser ? !entry.code.startsWith('import') : !entry.browser))
    .filter((entry) => !own.has(entry.name) && new RegExp(`\\b${entry.name}\\b`).test(body))
    .map((entry) => entry.code);
  const moduleLevel = /^(export\s|@|class\s)/m.test(body);
  return [`// ${snippet.id}, as written`, imports, ...prelude, moduleLevel ? body : `export async function snippet(): Promise<void> {\n${body}\n}`, ''].join(
    '\n',
  );
}

/** A file name for the snippet: `README.md:38` → `readme-md-38.ts`. */
export function snippetFileName(snippet: Snippet): string {
  return `${snippet.id.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.ts`;
}
