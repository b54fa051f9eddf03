/**
 * The plan under review: edits validated by the core's plan validation (problems listed, the draft
 * kept), warnings and the estimate recomputed, the over-budget warning, the planner's usage; and
 * the planner's re-planning option, which shows the model the current plan and the comment.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ModelClient, ModelRequest, ModelResponse } from '../../src/core/model';
import type { TaskSpec } from '../../src/core/plan';
import { validatePlan } from '../../src/core/planGraph';
import { planSpec } from '../../src/core/planner';
import { editDraft, newDraft, planViewOf } from '../../src/app/planDraft';

const task = (id: string, over: Partial<TaskSpec> = {}): TaskSpec => ({
  id,
  title: `Title ${id}`,
  instructions: `Do ${id}.`,
  acceptance: [`${id} done`],
  files: [`src/${id}.ts`],
  dependsOn: [],
  ...over,
});
const NO_BUDGETS = { runTokens: null, runCost: null, taskTokens: null, taskCost: null };
const PRICE = { input: 1, cachedInput: 0.1, output: 2 };

function response(completion: number): ModelResponse {
  return {
    content: '{}',
    toolCalls: [],
    finishReason: 'stop',
    usage: {
      promptTokens: 1000,
      completionTokens: completion,
      cachedTokens: 0,
      reasoningTokens: null,
      estimated: false,
    },
    timing: { ttftMs: 5, durationMs: 10, outputTokensPerSec: null },
    model: 'm',
    attempts: 1,
  };
}

function draftOf(tasks: TaskSpec[]) {
  const v = validatePlan({ tasks }, 'Build things');
  assert.ok(v.ok);
  return newDraft(v.plan, '## Files\nREADME.md\n', [response(100)], { m: PRICE });
}

test('a valid edit replaces the tasks, recomputes warnings and the estimate', () => {
  const draft = draftOf([task('api'), task('ui', { dependsOn: ['api'] })]);
  let view = planViewOf(draft, PRICE, NO_BUDGETS);
  assert.equal(view.errors.length, 0);
  assert.ok(view.estimate && view.estimate.input > 0 && view.estimate.cost !== null);
  assert.deepEqual(view.plannerUsage, {
    input: 1000,
    cached: 0,
    output: 100,
    cost: 0.0012,
    unpriced: false,
    estimated: false,
  });

  // Remove the dependency, make both touch one file, retitle one, add a task.
  const edited = editDraft(
    draft,
    [
      task('api', { files: ['src/shared.ts'] }),
      task('ui', { title: 'The UI', files: ['./src/shared.ts'] }),
      task('docs'),
    ],
    50,
  );
  view = planViewOf(edited, PRICE, NO_BUDGETS);
  assert.deepEqual(view.errors, []);
  assert.deepEqual(
    view.tasks.map((t) => t.id),
    ['api', 'ui', 'docs'],
  );
  assert.equal(view.tasks[1].title, 'The UI');
  assert.deepEqual(view.tasks[1].files, ['src/shared.ts'], 'paths are normalised');
  assert.equal(view.warnings.length, 1, 'the two now overlap in parallel');
  assert.deepEqual(view.warnings[0].tasks, ['api', 'ui']);
  assert.ok(
    view.estimate!.input > planViewOf(draft, PRICE, NO_BUDGETS).estimate!.input,
    'three tasks cost more than two',
  );
});

test('an invalid edit keeps the draft, lists every problem and has no estimate until fixed', () => {
  const draft = draftOf([task('a'), task('b')]);
  const broken = editDraft(
    draft,
    [task('a', { dependsOn: ['b'] }), task('b', { dependsOn: ['a'], title: '  ' }), task('c', { dependsOn: ['nope'] })],
    50,
  );
  const view = planViewOf(broken, PRICE, NO_BUDGETS);
  assert.equal(view.estimate, null);
  assert.equal(view.tasks.length, 3, 'the draft is kept for fixing');
  assert.ok(
    view.errors.some((e) => /title must not be empty/.test(e)),
    view.errors.join('\n'),
  );
  const fixedTitle = editDraft(
    broken,
    [task('a', { dependsOn: ['b'] }), task('b', { dependsOn: ['a'] }), task('c', { dependsOn: ['nope'] })],
    50,
  );
  const errors = planViewOf(fixedTitle, PRICE, NO_BUDGETS).errors;
  assert.ok(errors.some((e) => /cycle/.test(e)));
  assert.ok(errors.some((e) => /"nope", which is not a task/.test(e)));
  assert.equal(broken.plan, null);
  const fixed = editDraft(broken, [task('a'), task('b'), task('c')], 50);
  assert.ok(fixed.plan && planViewOf(fixed, PRICE, NO_BUDGETS).estimate);
});

test('the task limit of the settings holds for edits, both ways', () => {
  const tasks = Array.from({ length: 60 }, (_, i) => task(`t${i}`));
  const over = editDraft(draftOf([task('a')]), tasks, 50);
  assert.equal(over.plan, null);
  assert.ok(
    over.errors.some((e) => /60 tasks but at most 50/.test(e)),
    over.errors.join('; '),
  );
  assert.equal(editDraft(draftOf([task('a')]), tasks, 100).plan?.tasks.length, 60);
});

test('an estimate over a run budget says which, in words', () => {
  const draft = draftOf([task('a')]);
  const view = planViewOf(draft, PRICE, { ...NO_BUDGETS, runTokens: 10 });
  assert.match(
    view.estimate!.overBudget ?? '',
    /^The estimate \(~[\d,]+ tokens\) is over the run's token budget of 10;/,
  );
  assert.match(
    planViewOf(draft, PRICE, { ...NO_BUDGETS, runCost: 0.000001 }).estimate!.overBudget ?? '',
    /cost budget/,
  );
  assert.equal(
    planViewOf(draft, null, { ...NO_BUDGETS, runCost: 0.000001 }).estimate!.overBudget,
    null,
    'an unpriced estimate is never over a cost budget',
  );
});

test('re-planning sends the spec, the current plan and the comment; the plan keeps the spec', async () => {
  const requests: ModelRequest[] = [];
  const revised = JSON.stringify({ tasks: [task('api'), task('ui'), task('docs')] });
  const model: ModelClient = {
    endpoint: 'http://fake.invalid/v1',
    model: 'planner',
    async complete(request: ModelRequest) {
      requests.push(request);
      return { ...response(50), content: revised };
    },
  };
  const outcome = await planSpec({
    spec: 'Build things',
    repoView: 'README.md',
    model,
    revise: { tasks: [task('api'), task('ui')], comment: 'Add a docs task.' },
  });
  assert.ok(outcome.ok);
  assert.equal(outcome.plan.spec, 'Build things');
  assert.deepEqual(
    outcome.plan.tasks.map((t) => t.id),
    ['api', 'ui', 'docs'],
  );
  const user = requests[0].messages[1].content as string;
  assert.match(user, /# Specification\n\nBuild things/);
  assert.match(user, /# The current plan\n\n\{\n {2}"tasks": \[/);
  assert.match(user, /"id": "ui"/);
  assert.match(user, /# The developer's comment on it\n\nAdd a docs task\./);
  const plain = await planSpec({ spec: 'Build things', repoView: 'README.md', model });
  assert.ok(plain.ok);
  assert.doesNotMatch(
    requests[1].messages[1].content as string,
    /current plan/,
    'without revise the prompt is unchanged',
  );
});
