/**
 * `npm run test:vscode`: Foreman's extension-host tests (test/vscode/suite.ts) in a real VS Code.
 * The suite is bundled with esbuild into a temp folder (VS Code loads it as plain CommonJS), and VS
 * Code opens a fresh copy of the sample repository with Foreman loaded from this checkout (`dist/`, so build
 * first) through --extensionDevelopmentPath.
 *
 *   npm run test:vscode                   desktop VS Code (Electron), downloaded by @vscode/test-electron
 *   npm run test:vscode -- --code-server  code-server, the e2e tier's VS Code (same Node extension
 *                                         host), for machines that cannot download VS Code
 *
 * Environment: FOREMAN_VSCODE_VERSION (default: stable), FOREMAN_VSCODE_EXECUTABLE (a VS Code to
 * use instead of downloading one), FOREMAN_E2E_KEEP=1 (keep the temp folders), and for
 * --code-server the e2e tier's FOREMAN_E2E_CODE_SERVER / FOREMAN_E2E_CHROMIUM.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { runTests } from '@vscode/test-electron';
import { runInCodeServer } from './codeServerHost';

const ROOT = resolve(__dirname, '..', '..');

/**
 * A copy of the sample repository (samples/demo-shop, the one the demo backend knows) on `main` with
 * one commit, as `npm start` makes it.
 */
function makeWorkspace(dir: string): string {
  const repo = join(dir, 'workspace');
  const git = (...args: string[]): void => {
    execFileSync('git', args, { cwd: repo, stdio: 'ignore' });
  };
  cpSync(join(ROOT, 'samples', 'demo-shop'), repo, { recursive: true });
  execFileSync('git', ['init', '-q', '-b', 'main', repo], { stdio: 'ignore' });
  git('config', 'user.name', 'Foreman Tests');
  git('config', 'user.email', 'tests@example.com');
  git('config', 'commit.gpgsign', 'false');
  git('add', '-A');
  git('commit', '-q', '-m', 'initial');
  return repo;
}

/** Bundles the suite into `dir`; returns the bundle's path. */
async function buildSuite(dir: string): Promise<string> {
  const suite = join(dir, 'suite.js');
  await build({
    entryPoints: [join(ROOT, 'test/vscode/suite.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
    outfile: suite,
    logLevel: 'warning',
  });
  return suite;
}

function runInElectron(suite: string, workspace: string, tmp: string): Promise<number> {
  return runTests({
    version: process.env.FOREMAN_VSCODE_VERSION || 'stable',
    vscodeExecutablePath: process.env.FOREMAN_VSCODE_EXECUTABLE || undefined,
    extensionDevelopmentPath: ROOT,
    extensionTestsPath: suite,
    launchArgs: [
      workspace,
      '--disable-extensions',
      '--disable-workspace-trust',
      `--user-data-dir=${join(tmp, 'user-data')}`,
      '--skip-welcome',
      '--skip-release-notes',
    ],
  });
}

async function main(): Promise<number> {
  const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'foreman-vscode-')));
  try {
    const suite = await buildSuite(tmp);
    const workspace = makeWorkspace(tmp);
    if (process.argv.includes('--code-server')) return await runInCodeServer({ extension: ROOT, suite, workspace });
    return await runInElectron(suite, workspace, tmp);
  } finally {
    if (process.env.FOREMAN_E2E_KEEP !== '1') rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : e);
    process.exit(1);
  },
);
