import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  estimateRun,
  learnProfile,
  PRIOR_PROFILE,
  priorProfile,
  taskSamples,
  taskShape,
} from '../../src/core/estimate';
import type { StepProfile, TaskSample } from '../../src/core/estimate';
import type { JournalEvent, NewEvent } from '../../src/core/journal';
import type { Plan, TaskSpec } from '../../src/core/plan';

function taskOf(id: string, textChars: number, files: string[] = []): TaskSpec {
  // title + instructions + files joined by newlines: textChars characters before the files.
  return { id, title: 'T', instructions: 'x'.repeat(textChars - 2), acceptance: [], files, dependsOn: [] };
}

const plan: Plan = { version: 1, spec: 's', tasks: [taskOf('a', 400), taskOf('b', 800)], warnings: [] };

/** A profile with the same value at every end, so one formula can be checked by hand. */
function flat(steps: number, growth: number, output: number, cacheShare = 1): StepProfile {
  const one = (v: number) => ({ low: v, mid: v, high: v });
  return {
    ...PRIOR_PROFILE,
    basis: 'history',
    stepsPerShape: one(steps),
    growthPerStep: one(growth),
    outputPerStep: one(output),
    cacheShare,
  };
}

test("a task's shape is 3 + 2 per file it names, at least one", () => {
  assert.equal(taskShape({ files: [] }), 5);
  assert.equal(taskShape({ files: ['a'] }), 5);
  assert.equal(taskShape({ files: ['a', 'b', 'c'] }), 9);
});

test('input, cached and output follow the append-only conversation model', () => {
  // Shape 5 × 2 = 10 steps, prompt P + T at step 1 growing by 800 a step.
  const est = estimateRun(plan, { prefixTokens: 5000, profile: flat(2, 800, 300) });
  const first = 5000 + 150; // task a: 400 chars = 100 tokens + 50 framing
  const input = 10 * first + (800 * 10 * 9) / 2;
  // Cached: the prefix at step 1, then the step before's prompt at each of the 9 later steps.
  const cached = 5000 + 9 * first + (800 * 9 * 8) / 2;
  assert.deepEqual(est.perTask[0], { id: 'a', steps: 10, input, cached, output: 3000, cost: null });
  assert.equal(est.perTask[1].input, 10 * (5000 + 250) + 36000);
  assert.deepEqual(est.total, est.low, 'a flat profile has a range of zero width');
  assert.deepEqual(est.total, est.high);
  assert.equal(est.total.input, est.perTask[0].input + est.perTask[1].input);
});

test('a backend that caches less gets proportionally fewer cached tokens, and costs more', () => {
  const price = { input: 2, cachedInput: 0.5, output: 8 };
  const full = estimateRun(plan, { prefixTokens: 2000, profile: flat(1, 500, 100), price });
  const half = estimateRun(plan, { prefixTokens: 2000, profile: flat(1, 500, 100, 0.5), price });
  assert.equal(half.total.input, full.total.input);
  assert.ok(Math.abs(half.perTask[0].cached - full.perTask[0].cached / 2) <= 1);
  assert.ok((half.total.cost ?? 0) > (full.total.cost ?? Infinity));
  const t = full.total;
  assert.ok(
    Math.abs((t.cost ?? NaN) - ((t.input - t.cached) * 2 + t.cached * 0.5 + t.output * 8) / 1e6) < 1e-12,
    'cost = uncached × input + cached × cached price + output × output price, per million',
  );
});

test('the prior gives a range around its middle, and says it is an assumption', () => {
  const est = estimateRun(plan, { prefixTokens: 3000 });
  assert.equal(est.basis, 'prior');
  assert.equal(est.perTask[0].steps, 5);
  const tokens = (t: { input: number; output: number }) => t.input + t.output;
  assert.ok(tokens(est.low) < tokens(est.total) && tokens(est.total) < tokens(est.high));
  assert.ok(tokens(est.high) / tokens(est.low) > 4, 'no history: a wide range');
  assert.match(est.assumptions, /No finished runs in this repository yet/);
  assert.match(est.assumptions, /No price given/);
});

test('a review adds the profile’s reviewer request per task, only when reviews are on', () => {
  const without = estimateRun(plan, { prefixTokens: 1000, profile: flat(1, 100, 50) });
  const withReview = estimateRun(plan, { prefixTokens: 1000, profile: flat(1, 100, 50), review: true });
  assert.equal(withReview.total.input - without.total.input, 2 * PRIOR_PROFILE.review.input);
  assert.equal(withReview.total.output - without.total.output, 2 * PRIOR_PROFILE.review.output);
});

function journalOf(events: NewEvent[]): JournalEvent[] {
  return events.map((e, i) => ({ ...e, seq: i + 1, t: 1000 + i }));
}

function request(
  taskId: string,
  prompt: number,
  cached: number,
  output: number,
  role: 'agent' | 'reviewer' = 'agent',
): NewEvent {
  return {
    type: 'model_request',
    role,
    taskId,
    model: 'm',
    endpoint: 'e',
    ok: true,
    usage: {
      promptTokens: prompt,
      completionTokens: output,
      cachedTokens: cached,
      reasoningTokens: null,
      estimated: false,
    },
    timing: null,
    attempts: 1,
    cost: null,
  };
}

test('samples come from the finished tasks of a journal, with their growth, output and cache share', () => {
  const runPlan: Plan = {
    version: 1,
    spec: 's',
    tasks: [taskOf('a', 100, ['x.js', 'y.js']), taskOf('b', 100), taskOf('c', 100)],
    warnings: [],
  };
  const events = journalOf([
    { type: 'plan', plan: runPlan },
    request('a', 1000, 0, 100),
    request('a', 1300, 1000, 50),
    request('a', 1600, 1300, 150),
    request('b', 900, 0, 10),
    request('a', 2000, 0, 20, 'reviewer'),
    { type: 'task_status', taskId: 'a', status: 'merged' },
    { type: 'task_status', taskId: 'b', status: 'working' },
    { type: 'task_status', taskId: 'c', status: 'failed' },
  ]);
  const samples = taskSamples(events);
  // b is still working (its step count is not known), c never asked the model.
  assert.equal(samples.length, 1);
  assert.deepEqual(samples[0], {
    steps: 3,
    shape: 7,
    growthPerStep: 300,
    outputPerStep: 100,
    cacheShare: 1,
    review: { input: 2000, output: 20 },
  });
});

test('learning: medians in the middle, percentiles at the ends, widened when samples are few', () => {
  const sample = (steps: number, growth: number): TaskSample => ({
    steps,
    shape: 5,
    growthPerStep: growth,
    outputPerStep: 100,
    cacheShare: 0.9,
    review: null,
  });
  assert.equal(learnProfile([], 0), PRIOR_PROFILE);
  const many = learnProfile(
    [5, 10, 15, 20, 25, 30].map((s) => sample(s, s * 10)),
    2,
  );
  assert.equal(many.basis, 'history');
  assert.equal(many.tasks, 6);
  assert.equal(many.runs, 2);
  assert.equal(many.stepsPerShape.mid, 3.5);
  assert.equal(many.stepsPerShape.low, 2);
  assert.equal(many.stepsPerShape.high, 5);
  assert.equal(many.cacheShare, 0.9);
  assert.deepEqual(many.review, PRIOR_PROFILE.review, 'no reviewed task: the prior review');
  const one = learnProfile([sample(10, 200)], 1);
  assert.deepEqual(one.stepsPerShape, { low: 1, mid: 2, high: 4 });
  assert.deepEqual(one.growthPerStep, { low: 80, mid: 200, high: 500 });
});

test('an estimate learned from a run of the same plan comes back to that run within its range', () => {
  // A run whose tasks took 8 steps each, growing 600 tokens a step: learned, then estimated again.
  const runPlan: Plan = { version: 1, spec: 's', tasks: [taskOf('a', 400), taskOf('b', 400)], warnings: [] };
  const prefix = 3000;
  const first = prefix + 150;
  const events: NewEvent[] = [{ type: 'plan', plan: runPlan }];
  let actual = 0;
  for (const id of ['a', 'b']) {
    for (let k = 0; k < 8; k++) {
      const prompt = first + 600 * k;
      events.push(request(id, prompt, k === 0 ? prefix : prompt - 600, 200));
      actual += prompt + 200;
    }
    events.push({ type: 'task_status', taskId: id, status: 'merged' });
  }
  const profile = learnProfile(taskSamples(journalOf(events)), 1);
  const est = estimateRun(runPlan, { prefixTokens: prefix, profile });
  assert.equal(est.total.input + est.total.output, actual);
  assert.ok(est.low.input + est.low.output < actual && actual < est.high.input + est.high.output);
  assert.match(est.assumptions, /Learned from 2 finished task\(s\) of 1 earlier run\(s\)/);
});

test('the prior sizes a step by the repository’s median file, within 150–1,500 tokens', () => {
  assert.deepEqual(priorProfile(null).growthPerStep, PRIOR_PROFILE.growthPerStep);
  assert.equal(priorProfile(600).growthPerStep.mid, 600);
  assert.equal(priorProfile(20).growthPerStep.mid, 150);
  assert.equal(priorProfile(90_000).growthPerStep.mid, 1500);
  const small = estimateRun(plan, { prefixTokens: 1000, profile: priorProfile(150) });
  const large = estimateRun(plan, { prefixTokens: 1000, profile: priorProfile(1500) });
  assert.ok(large.total.input > 2 * small.total.input, 'larger files, longer conversations');
  assert.equal(small.basis, 'prior');
});
