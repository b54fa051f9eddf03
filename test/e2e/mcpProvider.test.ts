/**
 * Foreman's MCP server definition in a real VS Code (code-server 4.100.3, VS Code 1.100, our
 * minimum). There `vscode.lm.registerMcpServerDefinitionProvider` already exists but wants the
 * provider declared under `contributes.modelContextServerCollections`, the contribution point's
 * name before 1.101 renamed it `mcpServerDefinitionProviders`; package.json declares both. The
 * registration must log no error, and VS Code's own "MCP: List Servers" must list Foreman.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureVsix, runCommand, screenshot, startVSCode, waitFor } from './harness';
import { makeTempRepo } from '../integration/tempRepo';

test("VS Code lists Foreman's MCP server, and registering it logs no error", { timeout: 180_000 }, async () => {
  const repo = makeTempRepo({ files: { 'README.md': '# mcp\n' }, prefix: 'foreman-e2e-mcp-' });
  const vscode = await startVSCode({ workspace: repo.root, vsix: ensureVsix() });
  try {
    await waitFor(() => vscode.extensionHostLog().includes('Eager extensions activated'), 'the extension host');
    await runCommand(vscode.page, 'Foreman: Show Log');
    const log = await waitFor(() => {
      const text = foremanLog(vscode.userDataDir);
      return /Foreman activated in/.test(text) ? text : null;
    }, "Foreman's log");
    assert.doesNotMatch(log, /could not start its MCP server definition/);
    // The command opens a quick pick of its own: it is run without waiting for the palette to close.
    const widget = vscode.page.locator('.quick-input-widget');
    await vscode.page.locator('.monaco-workbench').press('F1');
    await widget.locator('input.input').fill('>MCP: List Servers');
    await widget.locator('.monaco-list-row', { hasText: 'MCP: List Servers' }).first().click({ timeout: 15_000 });
    const rows = widget.locator('.monaco-list-row');
    const listed = await waitFor(async () => {
      const texts = await rows.allInnerTexts().catch(() => []);
      return texts.some((t) => t.includes('Foreman')) ? texts : null;
    }, "Foreman in VS Code's list of MCP servers");
    await screenshot(vscode.page, 'mcp-servers-list');
    assert.ok(listed.some((t) => t.includes('Foreman')));
  } finally {
    await vscode.close();
    repo.cleanup();
  }
});

/** The text of Foreman's log channel (its file under the session's logs), '' before it exists. */
function foremanLog(dir: string): string {
  const found: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (/Foreman\.log$/.test(e.name)) found.push(readFileSync(join(d, e.name), 'utf8'));
    }
  };
  try {
    walk(join(dir, 'logs'));
  } catch {
    return ''; // no logs folder yet
  }
  return found.join('\n');
}
