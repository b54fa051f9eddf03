/**
 * Workspace Trust in a real VS Code: code-server started without --disable-workspace-trust, trust
 * enabled in the user settings, and a fresh browser profile (code-server keeps the list of trusted
 * folders in the browser's storage), so the folder opens in Restricted Mode. A backend pointing at
 * the scripted server is configured in the user settings (which Restricted Mode still honours), so
 * the only thing between the panel and a run is trust. Nothing may reach the server.
 * Screenshots: test-results/e2e/untrusted-*.png.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from './harness';
import { button, openLead, stages } from './lead';
import { DEMO_SPEC, useSampleSession } from './sample';

const session = useSampleSession({
  scenario: 'demo',
  trust: false,
  settings: (server) => ({
    'security.workspace.trust.enabled': true,
    'foreman.backends': [{ name: 'scripted', baseUrl: server?.url, models: ['scripted-demo'] }],
  }),
});

test(
  'in an untrusted workspace the panel says why, cannot plan, and no request reaches the backend',
  { timeout: 120_000 },
  async () => {
    const page = session.vscode.page;
    const stage = stages(page, 'untrusted');
    await stage('restricted-mode', async () => {
      await page.locator('.part.statusbar', { hasText: 'Restricted Mode' }).waitFor({ timeout: 15_000 });
    });
    const lead = await openLead(session.vscode);
    await stage('blocked', async () => {
      const blocked = lead.locator('[data-blocked="untrusted"]');
      await blocked.first().waitFor({ timeout: 30_000 });
      assert.match(await blocked.first().innerText(), /trust/i, 'the message speaks of trust');
      const plan = button(lead, 'Plan');
      assert.ok(!(await plan.first().isVisible()) || (await plan.first().isDisabled()), 'Plan is not offered');
      const spec = lead.getByLabel('Spec', { exact: true });
      if ((await spec.count()) > 0 && (await spec.isEditable())) await spec.fill(DEMO_SPEC);
    });
    await stage('command-refused', async () => {
      await runCommand(page, 'Foreman: Plan the Spec');
      await new Promise((r) => setTimeout(r, 3_000)); // time for a request to arrive, were one sent
    });
    assert.equal(session.server.requests.length, 0, 'no request reached the test server');
    assert.ok(!existsSync(session.sample.worktrees), 'no worktree was made');
    assert.ok(!existsSync(join(session.sample.repo, '.git', 'foreman', 'runs')), 'no run was started');
  },
);
