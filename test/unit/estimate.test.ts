import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimateRun } from '../../src/core/estimate';
import type { Plan, TaskSpec } from '../../src/core/plan';

function taskOf(id: string, textChars: number): TaskSpec {
  // title + instructions joined by one newline: textChars characters in all.
  return { id, title: 'T', instructions: 'x'.repeat(textChars - 2), acceptance: [], files: [], dependsOn: [] };
}

const plan: Plan = { version: 1, spec: 's', tasks: [taskOf('a', 400), taskOf('b', 800)], warnings: [] };

test('the numbers follow the documented formula', () => {
  const est = estimateRun(plan, {
    prefixTokens: 5000,
    stepsPerTask: 10,
    outputTokensPerStep: 300,
    toolResultTokensPerStep: 500,
    cacheHitRate: 0.5,
  });
  // Task a: its text is 400 chars = 100 tokens + 50 framing; 10 steps.
  const firstA = 5000 + 150;
  const inputA = 10 * firstA + (800 * 10 * 9) / 2;
  assert.deepEqual(est.perTask[0], { id: 'a', input: inputA, cached: inputA / 2, output: 3000, cost: null });
  const inputB = 10 * (5000 + 250) + 36000;
  assert.equal(est.perTask[1].input, inputB);
  assert.deepEqual(est.total, { input: inputA + inputB, cached: (inputA + inputB) / 2, output: 6000, cost: null });
  assert.match(est.assumptions, /10 model steps per task/);
  assert.match(est.assumptions, /50% of input/);
  assert.match(est.assumptions, /no price given/);
});

test('defaults: 12 steps, 350 out, 600 tool results, 80% cached', () => {
  const est = estimateRun(plan, { prefixTokens: 4000 });
  const inputA = 12 * (4000 + 150) + (950 * 12 * 11) / 2;
  assert.equal(est.perTask[0].input, inputA);
  assert.equal(est.perTask[0].output, 12 * 350);
  assert.equal(est.perTask[0].cached, Math.round(inputA * 0.8));
});

test('costs use uncached, cached and output prices per million tokens', () => {
  const price = { input: 2, cachedInput: 0.5, output: 8 };
  const est = estimateRun(plan, { prefixTokens: 1000, stepsPerTask: 1, cacheHitRate: 0, price });
  const a = est.perTask[0];
  assert.equal(a.input, 1150);
  assert.equal(a.cached, 0);
  assert.ok(Math.abs((a.cost ?? NaN) - (1150 * 2 + 350 * 8) / 1e6) < 1e-12);
  const cached = estimateRun(plan, { prefixTokens: 1000, stepsPerTask: 1, cacheHitRate: 1, price });
  assert.ok((cached.perTask[0].cost ?? Infinity) < (a.cost ?? 0), 'caching makes it cheaper');
  const sum = est.perTask.reduce((s, t) => s + (t.cost ?? 0), 0);
  assert.ok(Math.abs((est.total.cost ?? NaN) - sum) < 1e-12);
});

test('input grows faster than linearly with steps, and odd inputs are clamped', () => {
  const at = (steps: number) => estimateRun(plan, { prefixTokens: 2000, stepsPerTask: steps }).total.input;
  assert.ok(at(20) > 2 * at(10));
  const odd = estimateRun(plan, { prefixTokens: -5, stepsPerTask: 0, cacheHitRate: 3, outputTokensPerStep: -1 });
  assert.equal(odd.perTask[0].input, 150);
  assert.equal(odd.perTask[0].cached, 150);
  assert.equal(odd.perTask[0].output, 0);
  assert.deepEqual(estimateRun({ ...plan, tasks: [] }, { prefixTokens: 1 }).total, {
    input: 0,
    cached: 0,
    output: 0,
    cost: null,
  });
});
