import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BudgetGuard, NO_BUDGETS, budgetTokens, hasBudgets, projectedHit } from '../../src/core/budget';
import type { Budgets } from '../../src/core/budget';
import { Ledger, emptyTotals } from '../../src/core/ledger';
import type { Usage } from '../../src/core/model';

function spend(
  ledger: Ledger,
  taskId: string | null,
  prompt: number,
  completion: number,
  cost: number | null = null,
  cached: number | null = null,
): void {
  const usage: Usage = {
    promptTokens: prompt,
    completionTokens: completion,
    cachedTokens: cached,
    reasoningTokens: null,
    estimated: false,
  };
  ledger.record({
    role: taskId ? 'agent' : 'planner',
    taskId,
    model: 'm',
    endpoint: 'e',
    ok: true,
    usage,
    timing: null,
    at: 0,
    cost,
  });
}

function budgets(b: Partial<Budgets>): Budgets {
  return { ...NO_BUDGETS, ...b };
}

test('tokens are input + output, cached prompt tokens counted as input', () => {
  const ledger = new Ledger();
  spend(ledger, 't1', 1000, 100, null, 800);
  assert.equal(budgetTokens(ledger.run), 1100);
  assert.equal(hasBudgets(NO_BUDGETS), false);
  assert.equal(hasBudgets(budgets({ taskCost: 1 })), true);
});

test('no budgets: never a hit', () => {
  const ledger = new Ledger();
  spend(ledger, 't1', 10_000_000, 10_000_000, 1000);
  const guard = new BudgetGuard(ledger, NO_BUDGETS);
  assert.equal(guard.check('t1'), null);
  assert.deepEqual(guard.checkAll(), []);
});

test('run token budget: a hit once used reaches the limit, for every task and for planner calls', () => {
  const ledger = new Ledger();
  const guard = new BudgetGuard(ledger, budgets({ runTokens: 1000 }));
  spend(ledger, null, 600, 100);
  spend(ledger, 't1', 250, 49);
  assert.equal(guard.check('t1'), null, '999 < 1000');
  assert.equal(guard.check(null), null);
  spend(ledger, 't2', 1, 0);
  const hit = { scope: 'run', kind: 'tokens', limit: 1000, used: 1000 };
  assert.deepEqual(guard.check(null), hit);
  assert.deepEqual(guard.check('t1'), hit);
  assert.deepEqual(guard.check('t3'), hit, 'a task that spent nothing is still stopped by the run budget');
});

test('run cost budget counts only priced requests', () => {
  const ledger = new Ledger();
  const guard = new BudgetGuard(ledger, budgets({ runCost: 0.5 }));
  spend(ledger, 't1', 1_000_000, 1_000_000, null);
  assert.equal(guard.check('t1'), null, 'unpriced spending cannot reach a money limit');
  spend(ledger, 't1', 10, 10, 0.3);
  assert.equal(guard.check('t1'), null);
  spend(ledger, 't2', 10, 10, 0.25);
  assert.deepEqual(guard.check('t1'), { scope: 'run', kind: 'cost', limit: 0.5, used: 0.55 });
});

test('task budgets: tokens and money, per task', () => {
  const ledger = new Ledger();
  const guard = new BudgetGuard(ledger, budgets({ taskTokens: 500, taskCost: 0.1 }));
  spend(ledger, 't1', 400, 100, 0.01);
  spend(ledger, 't2', 100, 10, 0.1);
  spend(ledger, 't3', 100, 10, 0.05);
  assert.deepEqual(guard.check('t1'), { scope: 'task', taskId: 't1', kind: 'tokens', limit: 500, used: 500 });
  assert.deepEqual(guard.check('t2'), { scope: 'task', taskId: 't2', kind: 'cost', limit: 0.1, used: 0.1 });
  assert.equal(guard.check('t3'), null);
  assert.equal(guard.check('t4'), null);
  assert.equal(guard.check(null), null, 'planner calls have no task budget');
  assert.deepEqual(
    guard.checkAll().map((h) => `${h.scope}:${h.taskId ?? ''}:${h.kind}`),
    ['task:t1:tokens', 'task:t2:cost'],
  );
});

test('the run budget is checked before the task budget', () => {
  const ledger = new Ledger();
  const guard = new BudgetGuard(ledger, budgets({ runTokens: 100, taskTokens: 50 }));
  spend(ledger, 't1', 80, 20);
  assert.equal(guard.check('t1')?.scope, 'run');
  assert.deepEqual(
    guard.checkAll().map((h) => `${h.scope}:${h.taskId ?? ''}`),
    ['run:', 'task:t1'],
  );
});

test('projectedHit warns when an estimate is over the run budget', () => {
  const estimate = emptyTotals();
  estimate.input = 800;
  estimate.output = 200;
  assert.equal(projectedHit(budgets({ runTokens: 1000 }), estimate), null, 'exactly the budget fits');
  assert.deepEqual(projectedHit(budgets({ runTokens: 999 }), estimate), {
    scope: 'run',
    kind: 'tokens',
    limit: 999,
    used: 1000,
  });
  assert.equal(projectedHit(budgets({ runCost: 1 }), estimate), null, 'an unpriced estimate has no cost');
  estimate.cost = 1.5;
  assert.deepEqual(projectedHit(budgets({ runCost: 1 }), estimate), {
    scope: 'run',
    kind: 'cost',
    limit: 1,
    used: 1.5,
  });

  // On a guard, what the ledger already spent (a resumed run) is added to the estimate.
  const ledger = new Ledger();
  spend(ledger, 't1', 100, 0, 0.5);
  const guard = new BudgetGuard(ledger, budgets({ runTokens: 1050, runCost: 2.5 }));
  assert.deepEqual(guard.projectedHit(estimate), { scope: 'run', kind: 'tokens', limit: 1050, used: 1100 });
  const cheap = { ...estimate, input: 0, output: 0 };
  assert.equal(guard.projectedHit(cheap), null);
  assert.deepEqual(guard.projectedHit({ ...cheap, cost: 2.1 }), { scope: 'run', kind: 'cost', limit: 2.5, used: 2.6 });
});
