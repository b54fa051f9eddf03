/**
 * The first run as `npm start` sets it up: the packaged extension in a real VS Code on a fresh copy
 * of samples/demo-shop, no backend configured. The newcomer takes the panel's "Try the demo
 * backend" (the scripted server that ships inside the extension), writes the demo's spec, plans,
 * runs and applies; the sample's branch then has the work and its tests pass.
 * Screenshots: test-results/e2e/first-run-*.png.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { waitFor } from './harness';
import { answerModal, button, openLead, stages, tryDemoBackend, waitForPhase, waitForRun } from './lead';
import { DEMO_SPEC, processesIn, useSampleSession } from './sample';

const session = useSampleSession();

test(
  'with no backend, "Try the demo backend" runs the demo from spec to a commit on main',
  { timeout: 180_000 },
  async () => {
    const page = session.vscode.page;
    const stage = stages(page, 'first-run');
    const lead = await openLead(session.vscode);
    await stage('demo-backend', async () => {
      await tryDemoBackend(lead);
    });
    await stage('plan', async () => {
      await lead.getByLabel('Spec', { exact: true }).fill(DEMO_SPEC);
      await button(lead, 'Plan').click();
      await waitForPhase(lead, 'plan', 60_000);
      assert.equal(await lead.locator('[data-plan-task]').count(), 3);
    });
    await stage('completed', async () => {
      await button(lead, 'Run').click();
      await waitForRun(lead, ['completed']);
    });
    await stage('applied', async () => {
      await button(lead, 'Apply as one commit').click();
      await answerModal(page, 'Apply');
      await waitFor(() => session.sample.git('rev-list', '--count', 'HEAD') === '2', 'the commit on main', 30_000);
    });
    assert.equal(session.sample.git('status', '--porcelain'), '', 'the checkout is clean after apply');
    assert.ok(session.sample.git('show', '--name-only', '--format=', 'HEAD').split('\n').includes('src/checkout.js'));
    execFileSync('npm', ['test', '--silent'], { cwd: session.sample.repo, stdio: 'ignore' });
    assert.deepEqual(processesIn(session.sample.worktrees), [], 'no agent command is left running');
  },
);
