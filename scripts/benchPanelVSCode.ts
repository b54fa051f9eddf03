/**
 * The Lead panel bench, part 3: Foreman's activation in a real VS Code. code-server 4.100.3 (VS
 * Code 1.100.3, the desktop's Node extension host) with the packaged VSIX installed, driven by
 * Debian's Chromium through the end-to-end harness (test/e2e/harness.ts). Each launch is fresh: a
 * new user-data folder, a new extensions folder with the VSIX installed into it, a new workspace.
 *
 * Once the workbench is up and its startup activations are over, "Foreman: Show Log" activates
 * Foreman. Two figures per launch:
 *  - Foreman's own, the line src/extension.ts writes to its log channel: "Foreman activated in X ms
 *    (code C ms, activate() A ms)", the bundle's evaluation plus activate();
 *  - VS Code's, from "Developer: Show Running Extensions": "Activation: N ms", which VS Code
 *    computes as codeLoadingTime + activateCallTime (loading the module and calling activate()).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXTENSION_ID, runCommand, startVSCode, waitFor } from '../test/e2e/harness';
import type { VSCodeSession } from '../test/e2e/harness';
import { makeRepo } from './benchServer';

/** One launch's figures. */
export interface Activation {
  /** Foreman's own figure and its parts, ms. */
  foremanMs: number;
  codeMs: number;
  activateMs: number;
  /** VS Code's figure (Running Extensions), ms; null when the view could not be read. */
  vscodeMs: number | null;
  /** The activation event VS Code's extension host logged. */
  event: string | null;
  /** Whether Foreman had already activated before its command ran (it must not). */
  activatedAtStartup: boolean;
}

const OWN_LINE = /Foreman activated in ([\d.]+) ms \(code ([\d.]+) ms, activate\(\) ([\d.]+) ms\)/;
const HOST_LINE = new RegExp(`_doActivateExtension ${EXTENSION_ID.replace(/\./g, '\\.')},.*activationEvent: '([^']+)'`);

/** Every file under `dir`, depth first. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
}

/** Foreman's activation line from its log channel's file, or null before it is written. */
function ownLine(vscode: VSCodeSession): RegExpExecArray | null {
  for (const file of filesUnder(join(vscode.userDataDir, 'logs'))) {
    if (!file.endsWith('.log')) continue;
    const m = OWN_LINE.exec(readFileSync(file, 'utf8'));
    if (m) return m;
  }
  return null;
}

/** VS Code's own activation figure for Foreman, read from the Running Extensions editor. */
async function runningExtensionsMs(vscode: VSCodeSession): Promise<number | null> {
  await runCommand(vscode.page, 'Developer: Show Running Extensions');
  const row = vscode.page
    .locator('.runtime-extensions-editor .extension')
    .filter({ has: vscode.page.locator('.name', { hasText: /^(Foreman|foreman-dev\.foreman)$/ }) });
  const text = await row
    .first()
    .locator('.activation-time')
    .innerText({ timeout: 30_000 })
    .catch(() => '');
  const m = /(\d+(?:\.\d+)?)\s*ms/.exec(text);
  return m ? Number(m[1]) : null;
}

/** One fresh launch: start, wait for startup to settle, activate through a command, read the figures. */
async function launch(vsix: string, workspace: string): Promise<Activation> {
  const vscode = await startVSCode({ workspace, vsix });
  try {
    await waitFor(
      () => vscode.extensionHostLog().includes('Eager extensions activated'),
      'the extension host to finish its startup activations',
      120_000,
    );
    const activatedAtStartup = HOST_LINE.test(vscode.extensionHostLog());
    await runCommand(vscode.page, 'Foreman: Show Log');
    const own = await waitFor(() => ownLine(vscode), 'the "Foreman activated in" line in Foreman\'s log', 60_000);
    const event = HOST_LINE.exec(vscode.extensionHostLog())?.[1] ?? null;
    const vscodeMs = await runningExtensionsMs(vscode);
    return {
      foremanMs: Number(own[1]),
      codeMs: Number(own[2]),
      activateMs: Number(own[3]),
      vscodeMs,
      event,
      activatedAtStartup,
    };
  } finally {
    await vscode.close();
  }
}

/** Part 3: `launches` fresh launches of VS Code with `vsix` installed. */
export async function benchActivation(vsix: string, launches: number): Promise<Activation[]> {
  const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'foreman-bench-activation-')));
  try {
    const results: Activation[] = [];
    for (let i = 0; i < launches; i++) {
      const workspace = join(tmp, `repo-${i}`);
      mkdirSync(workspace);
      makeRepo(workspace);
      results.push(await launch(vsix, workspace));
    }
    return results;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
