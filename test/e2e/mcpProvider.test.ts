/**
 * Foreman's MCP server definition in a real VS Code (code-server 4.100.3, VS Code 1.100, our
 * minimum). There `vscode.lm.registerMcpServerDefinitionProvider` already exists but wants the
 * provider declared under `contributes.modelContextServerCollections`, the contribution point's
 * name before 1.101 renamed it `mcpServerDefinitionProviders`; package.json declares both. The
 * registration must log no error, and VS Code's own "MCP: List Servers" must list Foreman. Then,
 * as a developer would, Foreman → "Start Server" from that list: VS Code starts `foreman mcp` from
 * the definition (this extension's dist/cli.js under the editor's Node), its output channel says
 * the server serves on stdio and how many tools VS Code discovered, and the list says "Running".
 * Screenshots: test-results/e2e/mcp-servers-list.png, mcp-server-started.png, mcp-servers-running.png.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { ensureVsix, outputPanel, runCommand, screenshot, startVSCode, waitFor, waitForText } from './harness';
import { makeTempRepo } from '../integration/tempRepo';

test(
  "VS Code lists Foreman's MCP server and starts it from its list; registering it logs no error",
  { timeout: 240_000 },
  async () => {
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
      const list = await listServers(vscode.page, (texts) => texts.some((t) => t.includes('Foreman')));
      await screenshot(vscode.page, 'mcp-servers-list');
      assert.ok(
        list.some((t) => /Foreman\s*Stopped/.test(t)),
        list.join(' | '),
      );

      // Foreman → "Start Server": VS Code starts `foreman mcp`, lists its tools and shows its output.
      await pick(vscode.page, 'Foreman');
      await pick(vscode.page, 'Start Server');
      const output = await waitForText(outputPanel(vscode.page), /Discovered \d+ tools/, 60_000);
      await screenshot(vscode.page, 'mcp-server-started');
      assert.doesNotMatch(output, /Connection state: Error|exited with code/);
      assert.match(output, /Foreman serves MCP on standard/);
      const tools = Number(/Discovered (\d+) tools/.exec(output)?.[1]);
      assert.ok(tools >= 10, `VS Code found ${tools} of Foreman's tools`);
      const running = await listServers(vscode.page, (texts) => texts.some((t) => /Foreman\s*Running/.test(t)));
      await screenshot(vscode.page, 'mcp-servers-running');
      assert.ok(running.some((t) => /Foreman\s*Running/.test(t)));
      await vscode.page.keyboard.press('Escape');
    } finally {
      await vscode.close();
      repo.cleanup();
    }
  },
);

/**
 * Opens "MCP: List Servers" (it opens a quick pick of its own, so it is run without waiting for the
 * palette to close) and returns the rows' texts once `until` holds for them.
 */
async function listServers(page: Page, until: (texts: string[]) => boolean): Promise<string[]> {
  const widget = page.locator('.quick-input-widget');
  await page.locator('.monaco-workbench').press('F1');
  await widget.locator('input.input').fill('>MCP: List Servers');
  await widget.locator('.monaco-list-row', { hasText: 'MCP: List Servers' }).first().click({ timeout: 15_000 });
  const rows = widget.locator('.monaco-list-row');
  return waitFor(
    async () => {
      const texts = (await rows.allInnerTexts().catch(() => [])).map((t) => t.replace(/\s+/g, ' '));
      return until(texts) ? texts : null;
    },
    "VS Code's list of MCP servers",
    60_000,
  );
}

/** Picks the row of the open quick pick whose label is `label`. */
async function pick(page: Page, label: string): Promise<void> {
  const widget = page.locator('.quick-input-widget');
  const row = widget.locator('.monaco-list-row').filter({
    has: page.locator('.label-name', { hasText: new RegExp(`^${label}$`) }),
  });
  await row.first().click({ timeout: 15_000 });
}

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
