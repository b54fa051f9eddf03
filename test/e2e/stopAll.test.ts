/**
 * "Stop all" in a real VS Code: a run whose agents are slow (test/e2e/fixtures/slowScenario.ts:
 * two run a five-minute command in their worktrees, one streams its answer slowly) is stopped from
 * the panel. Every task must end stopped, the run 'stopped', the commands killed and the model
 * request in flight aborted. Screenshots: test-results/e2e/stop-*.png.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SLOW_COMMAND, SLOW_SPEC, SLOW_TASK_IDS, slowScenario } from './fixtures/slowScenario';
import { waitFor } from './harness';
import { boardStatuses, button, openLead, stages, waitForPhase, waitForRun, waitForTask } from './lead';
import { processesIn, useSampleSession } from './sample';

/** Statuses of a task that is still doing something. */
const ACTIVE = ['setting_up', 'working', 'verifying'];

const session = useSampleSession({
  scenario: slowScenario,
  settings: (server) => ({
    'foreman.backends': [{ name: 'slow', baseUrl: server?.url, models: ['scripted-slow'] }],
    'foreman.concurrency': 4,
  }),
});

test('Stop all stops every task, kills their commands and leaves the run stopped', { timeout: 180_000 }, async () => {
  const page = session.vscode.page;
  const stage = stages(page, 'stop');
  const lead = await openLead(session.vscode);
  await stage('planned', async () => {
    await lead.getByLabel('Spec', { exact: true }).fill(SLOW_SPEC);
    await button(lead, 'Plan').click();
    await waitForPhase(lead, 'plan', 60_000);
  });
  await stage('working', async () => {
    await button(lead, 'Run').click();
    for (const id of SLOW_TASK_IDS) await waitForTask(lead, id, ['working']);
    await waitFor(() => slowCommands().length >= 2, `two "${SLOW_COMMAND}" commands in the worktrees`, 60_000);
    await waitFor(() => session.server.stats.inFlight > 0, 'a model request in flight', 30_000);
  });
  await stage('stopped', async () => {
    await button(lead, 'Stop all').click();
    await waitForRun(lead, ['stopped'], 30_000);
    for (const id of SLOW_TASK_IDS) await waitForTask(lead, id, ['stopped'], 30_000);
  });
  const statuses = await boardStatuses(lead);
  assert.ok(
    Object.values(statuses).every((s) => !ACTIVE.includes(s)),
    `nothing is still working: ${JSON.stringify(statuses)}`,
  );
  await waitFor(
    () => processesIn(session.sample.worktrees).length === 0,
    'no process left in the worktrees',
    10_000,
  ).catch(() => {
    assert.deepEqual(processesIn(session.sample.worktrees), [], 'every agent command was killed');
  });
  await waitFor(() => session.server.stats.inFlight === 0, 'no model request left in flight', 10_000);
  const stopAll = button(lead, 'Stop all');
  assert.ok(!(await stopAll.isVisible()) || (await stopAll.isDisabled()), 'Stop all is gone once nothing runs');
});

/** The slow commands running in the run's worktrees now. */
function slowCommands(): number[] {
  return processesIn(session.sample.worktrees)
    .filter((p) => p.command.includes(SLOW_COMMAND))
    .map((p) => p.pid);
}
