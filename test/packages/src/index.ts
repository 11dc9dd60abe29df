export { type FreshApp, type FreshAppSpec, createApp } from './app.js';
export { type Diagnostic, formatDiagnostics, parseTscOutput } from './diagnostics.js';
export { type ExecOptions, type ExecResult, exec, execOk, tail, userEnv } from './exec.js';
export {
  type PackedFile,
  type PackManifest,
  type PublishedPackage,
  type Tarball,
  packAll,
  publishedPackages,
  readManifest,
  REPO_ROOT,
  tarballDependencies,
} from './pack.js';
export { extractSnippets, README_CONTEXT, type Snippet, snippetFileName, snippetModule } from './snippets.js';
