/**
 * Approvals in a real VS Code: two agents run commands the policy asks about. Each ask shows on its
 * task's row in the Lead panel and as a notification; one is denied from its notification with a
 * reason (typed in VS Code's input box), the other allowed from the panel's row. The run completes,
 * the refused agent was told the reason, and the row's Audit opens the task's audit trail beside
 * its transcript. Screenshots: test-results/e2e/approvals-*.png.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ASK_SPEC, askScenario, FETCH_COMMAND } from './fixtures/askScenario';
import { waitFor } from './harness';
import { button, editorTabs, openLead, stages, taskRow, waitForPhase, waitForRun } from './lead';
import { useSampleSession } from './sample';

const session = useSampleSession({
  scenario: askScenario,
  settings: (server) => ({
    'foreman.backends': [{ name: 'asking', baseUrl: server?.url, models: ['scripted-ask'] }],
    'foreman.concurrency': 2,
  }),
});

test(
  'asks wait on the rows and in notifications; answers from both reach the agents',
  { timeout: 180_000 },
  async () => {
    const page = session.vscode.page;
    const stage = stages(page, 'approvals');
    const lead = await openLead(session.vscode);
    await stage('planned', async () => {
      await lead.getByLabel('Spec', { exact: true }).fill(ASK_SPEC);
      await button(lead, 'Plan').click();
      await waitForPhase(lead, 'plan', 60_000);
    });
    const strip = (id: string) => taskRow(lead, id).getByRole('group', { name: 'Waiting for your approval' });
    await stage('asked', async () => {
      await button(lead, 'Run').click();
      await strip('inline').waitFor({ state: 'visible', timeout: 60_000 });
      await strip('fetch').waitFor({ state: 'visible', timeout: 60_000 });
      assert.match(await strip('inline').innerText(), /Rule inline-code/);
      assert.equal(await strip('fetch').locator('.ask-command').innerText(), FETCH_COMMAND);
    });
    await stage('denied-in-notification', async () => {
      const toast = page.locator('.notification-toast').filter({ hasText: FETCH_COMMAND });
      await toast.waitFor({ state: 'visible', timeout: 30_000 });
      await toast.getByRole('button', { name: 'Deny…' }).click();
      const input = page.locator('.quick-input-widget input');
      await input.waitFor({ state: 'visible', timeout: 10_000 });
      await input.fill('No downloads here; write the banner by hand.');
      await input.press('Enter');
      await strip('fetch').waitFor({ state: 'hidden', timeout: 30_000 });
    });
    await stage('allowed-in-panel', async () => {
      await strip('inline').getByRole('button', { name: 'Allow once' }).click();
      await waitForRun(lead, ['completed']);
    });
    const refusal = session.server.requests
      .flatMap((r) => r.body.messages)
      .some((m) => m.role === 'tool' && JSON.stringify(m.content).includes('No downloads here'));
    assert.ok(refusal, 'the fetch agent was told the reason');
    await stage('audit', async () => {
      await taskRow(lead, 'inline').getByRole('button', { name: 'Audit' }).click();
      await waitFor(
        async () => (await editorTabs(page)).some((t) => /inline\.log/.test(t)),
        'the audit tab beside the transcript',
        20_000,
      );
      await page
        .locator('.monaco-editor .view-lines')
        .filter({ hasText: 'allowed once by you' })
        .first()
        .waitFor({ timeout: 20_000 });
    });
  },
);
