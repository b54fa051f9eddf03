/**
 * The first run as `npm start` sets it up: the packaged extension in a real VS Code on a fresh copy
 * of samples/demo-shop, no backend configured. The newcomer takes the panel's "Try the demo
 * backend" (the scripted server that ships inside the extension), writes the demo's spec, plans,
 * runs and applies; the sample's branch then has the work and its tests pass.
 * Screenshots: test-results/e2e/first-run-*.png.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ensureVsix, processesOf, startVSCode, waitFor } from './harness';
import type { VSCodeSession } from './harness';
import { answerModal, button, openLead, stages, waitForPhase, waitForRun } from './lead';
import { DEMO_SPEC, makeSampleRepo, processesIn } from './sample';
import type { SampleRepo } from './sample';

let sample: SampleRepo;
let vscode: VSCodeSession | undefined;

before(
  async () => {
    const vsix = ensureVsix();
    sample = makeSampleRepo();
    vscode = await startVSCode({
      workspace: sample.repo,
      vsix,
      settings: { 'foreman.worktrees.location': sample.worktrees },
    });
  },
  { timeout: 120_000 },
);

after(async () => {
  await vscode?.close();
  if (vscode) assert.deepEqual(processesOf(vscode.marker), [], 'closing VS Code leaves none of its processes');
  sample?.cleanup();
});

test(
  'with no backend, "Try the demo backend" runs the demo from spec to a commit on main',
  { timeout: 180_000 },
  async () => {
    const page = vscode!.page;
    const stage = stages(page, 'first-run');
    const lead = await openLead(vscode!);
    await stage('demo-backend', async () => {
      await button(lead, 'Try the demo backend').click();
      const backend = lead.getByLabel('Backend', { exact: true });
      await waitFor(
        async () =>
          /demo/i.test(
            await backend
              .locator('option:checked')
              .innerText()
              .catch(() => ''),
          ),
        'the demo backend to be chosen',
        15_000,
      );
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
      await waitFor(() => sample.git('rev-list', '--count', 'HEAD') === '2', 'the commit on main', 30_000);
    });
    assert.equal(sample.git('status', '--porcelain'), '', 'the checkout is clean after apply');
    assert.ok(sample.git('show', '--name-only', '--format=', 'HEAD').split('\n').includes('src/checkout.js'));
    execFileSync('npm', ['test', '--silent'], { cwd: sample.repo, stdio: 'ignore' });
    assert.deepEqual(processesIn(sample.worktrees), [], 'no agent command is left running');
  },
);
