import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  budgetBars,
  chartGeometry,
  elapsedNow,
  niceMax,
  runElapsed,
  runMeta,
  statusCounts,
  stepText,
  verificationSummary,
  waitingText,
} from '../../src/webview/boardModel';
import { TASK_STATUS_LOOK, isTicking, taskLook } from '../../src/webview/status';
import { TaskStatus } from '../../src/protocol/panel';
import type { CheckView } from '../../src/protocol/panel';

test('every task status has a word and an icon; only working statuses tick', () => {
  for (const s of TaskStatus.options) {
    assert.ok(TASK_STATUS_LOOK[s].label.length > 0, s);
    assert.ok(TASK_STATUS_LOOK[s].icon.length > 0, s);
  }
  assert.deepEqual(TaskStatus.options.filter(isTicking).sort(), ['setting_up', 'verifying', 'working']);
  assert.equal(taskLook('paused').label, 'paused');
});

test('elapsed time moves on only for working tasks of a live run', () => {
  assert.equal(elapsedNow({ elapsedMs: null, status: 'queued' }, true, 5000), null);
  assert.equal(elapsedNow({ elapsedMs: 10_000, status: 'working' }, true, 2500), 12_500);
  assert.equal(elapsedNow({ elapsedMs: 10_000, status: 'working' }, false, 2500), 10_000);
  assert.equal(elapsedNow({ elapsedMs: 10_000, status: 'merged' }, true, 2500), 10_000);
  assert.equal(elapsedNow({ elapsedMs: 10_000, status: 'verifying' }, true, -40), 10_000);
});

test('the step line names the tool while the agent works', () => {
  assert.equal(stepText({ status: 'working', step: 7, tool: 'run_command' }), 'step 7 · run_command');
  assert.equal(stepText({ status: 'working', step: 7, tool: null }), 'step 7');
  assert.equal(stepText({ status: 'merged', step: 7, tool: null }), '');
  assert.equal(stepText({ status: 'working', step: 0, tool: null }), '');
  const statusOf = (id: string) => ({ a: 'merged', b: 'working' })[id];
  assert.equal(waitingText({ status: 'queued', dependsOn: ['a', 'b', 'c'] }, statusOf), 'waits for b, c');
  assert.equal(waitingText({ status: 'queued', dependsOn: ['a'] }, statusOf), '');
  assert.equal(waitingText({ status: 'failed', dependsOn: ['b'] }, statusOf), '');
});

const check = (name: string, status: CheckView['status'], exitCode: number | null = 0): CheckView => ({
  name,
  command: `npm run ${name}`,
  status,
  exitCode,
  durationMs: 10,
  reason: null,
});

test('verification in a few words, failures with their exit codes', () => {
  assert.equal(verificationSummary(null), null);
  assert.deepEqual(
    verificationSummary({ status: 'passed', round: 1, checks: [check('test', 'passed'), check('lint', 'passed')] }),
    { text: 'Checks passed: test, lint', tone: 'ok' },
  );
  assert.deepEqual(
    verificationSummary({
      status: 'failed',
      round: 2,
      checks: [check('test', 'failed', 1), check('lint', 'passed'), check('types', 'failed', null)],
    }),
    {
      text: 'Checks failed (round 2): test (exit 1), types',
      tone: 'error',
    },
  );
  assert.deepEqual(verificationSummary({ status: 'skipped', round: 1, checks: [] }), {
    text: 'Not verified (no checks)',
    tone: 'warning',
  });
  assert.deepEqual(
    verificationSummary({ status: 'stopped', round: 1, checks: [check('test', 'stopped'), check('lint', 'skipped')] }),
    { text: 'Checks stopped: test', tone: 'muted' },
  );
});

test('budget bars warn past 80% and say when a budget is reached', () => {
  assert.deepEqual(budgetBars({ tokens: null, cost: null }), []);
  const [tokens, cost] = budgetBars({
    tokens: { used: 85_000, limit: 100_000 },
    cost: { used: 2.5, unpriced: false, limit: 2 },
  });
  assert.equal(tokens.kind, 'tokens');
  assert.equal(tokens.level, 'warning');
  assert.equal(tokens.label, '85k / 100k tokens');
  assert.equal(tokens.fraction, 0.85);
  assert.equal(tokens.description, '85% of the token budget used');
  assert.equal(cost.level, 'hit');
  assert.equal(cost.fraction, 1);
  assert.equal(cost.label, '$2.50 / $2.00');
  assert.equal(budgetBars({ tokens: { used: 80, limit: 100 }, cost: null })[0].level, 'ok');
  const [partly] = budgetBars({ tokens: null, cost: { used: 0.5, unpriced: true, limit: 2 } });
  assert.equal(partly.label, '$0.50 + unpriced part / $2.00');
  assert.match(partly.description, /some requests had no price/);
  const [none] = budgetBars({ tokens: null, cost: { used: null, unpriced: true, limit: 2 } });
  assert.equal(none.label, 'unpriced / $2.00', 'a missing price is not $0');
});

test('status counts follow the board order and keep unknown statuses', () => {
  const counts = statusCounts({ merged: 2, working: 3, queued: 0, paused: 1 });
  assert.deepEqual(
    counts.map((c) => [c.status, c.count, c.label]),
    [
      ['working', 3, 'Working'],
      ['merged', 2, 'Merged'],
      ['paused', 1, 'paused'],
    ],
  );
});

test('the chart scales to a round maximum and pins the newest sample to the right edge', () => {
  assert.equal(niceMax(0), 1);
  assert.equal(niceMax(7), 10);
  assert.equal(niceMax(120), 200);
  assert.equal(niceMax(480), 500);
  assert.equal(niceMax(1000), 1000);
  assert.deepEqual(chartGeometry([5], 100, 50), { max: 5, line: '', area: '' });
  const g = chartGeometry([0, 50, 100], 100, 50, 3);
  assert.equal(g.max, 100);
  assert.equal(g.line, '0,50 50,25 100,0');
  assert.equal(g.area, '0,50 0,50 50,25 100,0 100,50');
  const scrolled = chartGeometry([10, 10], 120, 40, 121);
  assert.equal(scrolled.line, '119,0 120,0');
  const noisy = chartGeometry([Number.NaN, -3, 4], 10, 10, 3);
  assert.equal(noisy.line, '0,10 5,10 10,2');
});

test('the run header reads model@endpoint and the base', () => {
  assert.equal(
    runMeta({ model: 'm', endpoint: 'gpu:8000', base: 'abc1234', baseBranch: 'main' }),
    'm@gpu:8000 · base abc1234 (main)',
  );
  assert.equal(runMeta({ model: null, endpoint: null, base: 'abc1234', baseBranch: null }), 'base abc1234');
  assert.equal(runElapsed({ startedAt: null, finishedAt: null, live: true }, 10), null);
  assert.equal(runElapsed({ startedAt: 0, finishedAt: 65_000, live: false }, 999_999), '1m 05s');
  assert.equal(runElapsed({ startedAt: 0, finishedAt: null, live: true }, 5000), '5s');
});
