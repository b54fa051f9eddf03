/**
 * The Lead panel in a real VS Code (code-server + Chromium), used as a newcomer would: the packaged
 * VSIX installed, a copy of samples/demo-shop open, the project's scripted OpenAI-compatible server
 * as the backend, added through the panel's form. One VS Code serves the file's tests, in order:
 * the first-run offer and a backend that is down; a run held for review (Accept, the dependent
 * task after its dependencies); then the whole way from a spec to a commit on the developer's
 * branch (plan edit, run, diff, request changes, Apply, git).
 * Screenshots of every stage: test-results/e2e/lead-{open,down,hold,run}-*.png; the panel at the side
 * bar's usual width and wide, with Run and Apply in view: lead-{hold-review,run-plan,run-completed,
 * run-applied}-{sidebar,wide}.png.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { FrameLocator } from 'playwright-core';
import { waitFor } from './harness';
import type { VSCodeSession } from './harness';
import {
  addBackend,
  alerts,
  atPanelWidths,
  answerModal,
  button,
  editorTabs,
  openLead,
  RUN_TIMEOUT_MS,
  stages,
  taskRow,
  waitForPhase,
  waitForRun,
  waitForTask,
} from './lead';
import type { BackendFields } from './lead';
import { DEMO_SPEC, processesIn, useSampleSession } from './sample';

/** A port nothing listens on (the discard service, closed on any ordinary machine). */
const DOWN_URL = 'http://127.0.0.1:9/v1';
const EDITED_TITLE = 'Receipt lines and a total';
const CHANGE_REQUEST = 'Please keep the receipt as it is and confirm the tests still pass.';
const DEMO_TASKS = ['discounts', 'receipt', 'checkout'];
const SCRIPTED: BackendFields = { name: 'scripted', baseUrl: '', model: 'scripted-demo' };

let lead: FrameLocator;

const session = useSampleSession({
  scenario: 'demo',
  timeoutMs: 180_000,
  ready: async (s) => {
    SCRIPTED.baseUrl = s.server.url;
    await stages(s.vscode.page, 'lead-open')('panel', async () => {
      lead = await openLead(s.vscode);
    });
  },
});

test(
  'first run: the panel offers a backend; one that is down gives a clear error and nothing breaks',
  { timeout: 120_000 },
  async () => {
    const stage = stages(session.vscode.page, 'lead-down');
    await stage('first-run', async () => {
      await waitForPhase(lead, 'compose');
      for (const name of ['Try the demo backend', 'Discover local servers']) {
        assert.ok(await button(lead, name).first().isVisible(), `with no backend the panel offers "${name}"`);
      }
    });
    await stage('backend-added', () => addBackend(lead, { name: 'down', baseUrl: DOWN_URL, model: 'nobody-home' }));
    await stage('plan-error', async () => {
      await lead.getByLabel('Spec', { exact: true }).fill(DEMO_SPEC);
      await button(lead, 'Plan').click();
      const alert = lead.getByRole('alert').filter({ hasText: '127.0.0.1:9' });
      await alert.first().waitFor({ timeout: 60_000 });
      await waitForPhase(lead, 'compose');
    });
    assert.equal(
      (await alerts(lead)).filter((t) => t.includes('127.0.0.1:9')).length,
      1,
      'the error names the backend, once (by the Plan button, not again in a banner)',
    );
    assert.ok(await button(lead, 'Plan').isEnabled(), 'Plan can be tried again');
    assert.equal(await lead.getByLabel('Spec', { exact: true }).inputValue(), DEMO_SPEC, 'the spec is kept');
    assert.doesNotMatch(session.vscode.extensionHostLog(), /Extension host terminated|Uncaught|FATAL/i);
  },
);

test(
  'hold for review: verified tasks wait, Accept merges them, and the task that needs them runs next',
  { timeout: 240_000 },
  async () => {
    const stage = stages(session.vscode.page, 'lead-hold');
    await stage('held', async () => {
      await backToCompose(lead);
      await useBackend(lead, SCRIPTED);
      await setHold(true);
      await planDemo();
      await button(lead, 'Run').click();
      await waitForTask(lead, 'discounts', ['verified']);
      await waitForTask(lead, 'receipt', ['verified']);
      await waitForRun(lead, ['review']);
      await waitForLine(
        /^Tasks discounts, receipt wait for your review in run \S+: accept, reject or request changes\.$/,
      );
    });
    await atPanelWidths(session.vscode, lead, 'lead-hold-review', []);
    await stage('changes-requested', async () => {
      await requestChanges('receipt', ['verified']);
      await waitForLine(/^Tasks discounts, receipt wait for your review/);
      assert.equal(await lead.locator('.line').count(), 1, 'one line, however many events');
    });
    await stage('accepted', async () => {
      for (const id of DEMO_TASKS) {
        await waitForTask(lead, id, ['verified']);
        await button(taskRow(lead, id), 'Accept').click();
        await waitForTask(lead, id, ['merged']);
      }
      await waitForRun(lead, ['completed']);
    });
  },
);

test('spec → plan → edit → run → diff → request changes → apply onto the branch', { timeout: 240_000 }, async () => {
  const page = session.vscode.page;
  const stage = stages(page, 'lead-run');
  await stage('backend', async () => {
    await backToCompose(lead);
    await useBackend(lead, SCRIPTED);
    await setHold(false);
  });
  await stage('plan', () => planDemo());
  await atPanelWidths(session.vscode, lead, 'lead-run-plan', ['Run']);
  await stage('plan-edited', async () => {
    const card = lead.locator('[data-plan-task="receipt"]');
    await button(card, 'Edit').click();
    await card.getByLabel('Title', { exact: true }).fill(EDITED_TITLE);
    await button(card, 'Save').click();
    await card.getByLabel('Title', { exact: true }).waitFor({ state: 'detached' });
    await waitFor(async () => (await card.innerText()).includes(EDITED_TITLE), 'the card to show the edited title');
  });
  await stage('running', async () => {
    await button(lead, 'Run').click();
    await waitForPhase(lead, 'run');
    assert.ok((await taskRow(lead, 'receipt').innerText()).includes(EDITED_TITLE), 'the board runs the edited task');
  });
  await stage('merged', async () => {
    for (const id of DEMO_TASKS) await waitForTask(lead, id, ['merged']);
    await waitForRun(lead, ['completed']);
  });
  await stage('backends', async () => {
    // The test server has no /metrics and no GPU: the board says so, with no figure.
    const section = lead.getByRole('region', { name: 'Backends' });
    await section.scrollIntoViewIfNeeded();
    const text = await section.innerText();
    assert.match(text, /Metrics: not read — not exposed \(http:\/\/127\.0\.0\.1:\d+\/metrics answered HTTP 404\)/);
    assert.match(text, /Energy: not measured — no energy source is configured for this backend/);
    assert.doesNotMatch(text, /tok\/J/);
  });
  await atPanelWidths(session.vscode, lead, 'lead-run-completed', ['Apply as one commit', 'Apply as merge']);
  await stage('diff', () => openDiff(page, 'discounts', 'discounts.js'));
  await stage('changes-requested', async () => {
    await requestChanges('receipt', ['merged']);
    await waitForRun(lead, ['completed']);
  });
  await stage('applied', async () => {
    await button(lead, 'Apply as one commit').click();
    const question = await answerModal(page, 'Apply');
    assert.match(question, /Apply run \S+ onto branch main as one commit\?/);
    await waitFor(() => session.sample.git('rev-list', '--count', 'HEAD') === '2', 'the commit on main', 30_000);
    await waitForLine(/^Applied run \S+ onto main as one commit [0-9a-f]{7}/);
    for (const id of DEMO_TASKS)
      assert.equal(
        await button(taskRow(lead, id), 'Request changes').count(),
        0,
        `the merged ${id} of an applied run is not offered for changes`,
      );
  });
  await atPanelWidths(session.vscode, lead, 'lead-run-applied', []);
  assertAppliedOnMain();
  assert.ok(
    session.server.requests.length >= 10,
    `the test server answered the run (${session.server.requests.length} requests)`,
  );
  assert.deepEqual(processesIn(session.sample.worktrees), [], 'no agent command is left running');
});

/** Clicks Diff on a task and waits for VS Code's diff editor on `file`; asserts the tab's title. */
async function openDiff(page: VSCodeSession['page'], taskId: string, file: string): Promise<void> {
  await button(taskRow(lead, taskId), 'Diff').click();
  const tab = page.locator('.tabs-container .tab.active');
  await waitFor(async () => (await tab.innerText().catch(() => '')).includes(file), `the diff tab of ${file}`, 30_000);
  await page.locator('.editor-instance .monaco-diff-editor').first().waitFor({ timeout: 30_000 });
  const title = (await tab.innerText()).replace(/\s+/g, ' ').trim();
  const expected = new RegExp(`${file.replace('.', '\\.')}.*\\(.*\\b${taskId}\\b.*\\)`);
  assert.match(
    title,
    expected,
    `the active tab is the diff of ${file} on ${taskId}: ${JSON.stringify(await editorTabs(page))}`,
  );
}

/**
 * Requests changes on a task and follows it: the panel must show it at work again (the comment
 * goes back to the same agent), its checks passing again, and then `settled` (verified when held,
 * else merged); the agent's next request to the server carries the comment.
 */
async function requestChanges(taskId: string, settled: string[]): Promise<void> {
  const row = taskRow(lead, taskId);
  const before = session.server.requests.length;
  await button(row, 'Request changes').click();
  await lead.getByLabel('Comments', { exact: true }).fill(CHANGE_REQUEST);
  await button(lead, 'Send').click();
  const seen = new Set<string>();
  await waitFor(
    async () => {
      const status = (await row.getAttribute('data-status', { timeout: 1_000 }).catch(() => null)) ?? '';
      seen.add(status);
      return seen.has('working') && settled.includes(status);
    },
    `task ${taskId} to be worked on again, then ${settled.join(' or ')}`,
    RUN_TIMEOUT_MS,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; statuses seen: ${[...seen].join(', ')}`);
  });
  await waitFor(
    async () =>
      /New round after your request: /.test(
        await row
          .locator('.row-round')
          .innerText()
          .catch(() => ''),
      ),
    `the row of ${taskId} to say what its new round changed`,
    15_000,
  );
  const again = session.server.requests.slice(before);
  assert.ok(
    again.some((r) => JSON.stringify(r.body.messages).includes(CHANGE_REQUEST)),
    'the comment reached the agent',
  );
  assert.match(await row.innerText(), /passed/i, 'its checks passed again');
}

/** Waits until the panel's one line tells the latest event as `pattern` says. */
async function waitForLine(pattern: RegExp): Promise<void> {
  const text = lead.locator('.line .line-text');
  let seen = '';
  await waitFor(
    async () => pattern.test((seen = await text.innerText({ timeout: 1_000 }).catch(() => ''))),
    `the line to say ${pattern}`,
    15_000,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; it says "${seen}"`);
  });
}

/** The scripted backend, added through the panel's form the first time, chosen after that. */
async function useBackend(frame: FrameLocator, fields: BackendFields): Promise<void> {
  const select = frame.getByLabel('Backend', { exact: true });
  const names = (await select.count()) ? await select.locator('option').allInnerTexts() : [];
  if (names.some((n) => n.trim().startsWith(fields.name)))
    await select.selectOption({ label: names.find((n) => n.trim().startsWith(fields.name))! });
  else await addBackend(frame, fields);
}

/**
 * Sets the "Hold verified tasks for my review" option with one click, then waits for the panel to
 * show it: the box mirrors the host's state, so a state update already on its way when the click
 * lands may show the old value for a moment (Playwright's setChecked would call that a failure).
 */
async function setHold(on: boolean): Promise<void> {
  const box = lead.getByLabel('Hold verified tasks for my review', { exact: true });
  if ((await box.isChecked()) !== on) await box.click();
  await waitFor(async () => (await box.isChecked()) === on, `the hold option to be ${on ? 'on' : 'off'}`, 10_000);
}

/** Writes the demo's spec, plans it and waits for the scripted planner's three tasks. */
async function planDemo(): Promise<void> {
  await lead.getByLabel('Spec', { exact: true }).fill(DEMO_SPEC);
  await button(lead, 'Plan').click();
  await waitForPhase(lead, 'plan', 60_000);
  const ids = await lead
    .locator('[data-plan-task]')
    .evaluateAll((cards) => cards.map((c) => c.getAttribute('data-plan-task')));
  assert.deepEqual(ids, DEMO_TASKS);
}

/** Leaves the board for a new spec when a run is on it (stopping it first if it still runs). */
async function backToCompose(frame: FrameLocator): Promise<void> {
  if ((await frame.locator('[data-phase="run"]').count()) === 0) return;
  const status = await frame.locator('[data-run-status]').first().getAttribute('data-run-status');
  if (status === 'running') {
    // The run may end on its own between the look and the click; then the button is gone.
    await button(frame, 'Stop all')
      .click({ timeout: 5_000 })
      .catch(() => undefined);
    await waitForRun(frame, ['stopped', 'completed', 'failed', 'review', 'budget', 'interrupted']);
  }
  await button(frame, 'New spec').click();
  await waitForPhase(frame, 'compose');
}

/** The run's work is one new commit on main: the files exist, the tree is clean, the tests pass. */
function assertAppliedOnMain(): void {
  assert.equal(session.sample.git('branch', '--show-current'), 'main');
  const files = session.sample.git('show', '--name-only', '--format=', 'HEAD').split('\n');
  for (const f of ['src/discounts.js', 'src/receipt.js', 'src/checkout.js', 'test/checkout.test.js']) {
    assert.ok(files.includes(f), `HEAD brings ${f} (it has ${files.join(', ')})`);
  }
  assert.equal(session.sample.git('status', '--porcelain'), '', 'the checkout is clean after apply');
  execFileSync('npm', ['test', '--silent'], { cwd: session.sample.repo, stdio: 'ignore' });
}
