import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PanelState, Request } from '../../src/protocol/panel';
import type { RunView } from '../../src/protocol/panel';
import { parseRaisedBudget, raiseBudgetModel, raisedResume } from '../../src/webview/raiseBudget';

function budgetRun(): RunView {
  const state = PanelState.parse(
    JSON.parse(readFileSync(join(__dirname, '../fixtures/panel/run-budget.json'), 'utf8')),
  );
  return state.run!;
}

test('the control shows only for a resumable run a budget stopped, filled with the limit now', () => {
  const run = budgetRun();
  const model = raiseBudgetModel(run);
  assert.deepEqual(
    { label: model?.label, prefill: model?.prefill, usedText: model?.usedText },
    { label: 'Run token budget', prefill: '2000000', usedText: '2,004,180 tokens used' },
  );
  assert.equal(raiseBudgetModel({ ...run, status: 'stopped' }), null);
  assert.equal(raiseBudgetModel({ ...run, actions: { ...run.actions, resume: false } }), null, 'running elsewhere');
  assert.equal(raiseBudgetModel({ ...run, budgetHit: null }), null, 'a journal without the hit: plain Resume only');
});

test('a new limit must be a number above what is used; the request changes only that budget', () => {
  const run = budgetRun();
  const hit = run.budgetHit!;
  assert.deepEqual(parseRaisedBudget(hit, '2,004,181'), { ok: true, value: 2_004_181 });
  assert.deepEqual(parseRaisedBudget(hit, '3M'), { ok: true, value: 3_000_000 });
  for (const text of ['2004180', '2000000', '1k']) {
    const parsed = parseRaisedBudget(hit, text);
    assert.ok(
      !parsed.ok && parsed.error.startsWith('The run has used 2,004,180 tokens: give a run token budget above'),
      text,
    );
  }
  for (const text of ['', 'lots', '-5', '0']) assert.equal(parseRaisedBudget(hit, text).ok, false, text);

  const cases: [NonNullable<RunView['budgetHit']>, number, Record<string, number>][] = [
    [hit, 3e6, { tokens: 3e6 }],
    [{ scope: 'run', kind: 'cost', limit: 2, used: 2.01 }, 3, { cost: 3 }],
    [{ scope: 'task', kind: 'tokens', limit: 1500, used: 2000 }, 5000, { taskTokens: 5000 }],
    [{ scope: 'task', kind: 'cost', limit: 0.05, used: 0.0512 }, 0.1, { taskCost: 0.1 }],
  ];
  for (const [h, limit, budgets] of cases) {
    const request = raisedResume({ runId: run.runId, hit: h }, limit);
    assert.deepEqual(request, { type: 'run/resume', runId: run.runId, budgets });
    assert.ok(Request.safeParse(request).success, 'the host accepts it');
  }
  const cost = parseRaisedBudget({ scope: 'task', kind: 'cost', limit: 0.05, used: 0.0512 }, '$0.05');
  assert.ok(
    !cost.ok &&
      cost.error ===
        'A stopped task has cost $0.0512: give a per-task cost budget above that, or it stops again at once.',
  );
});
