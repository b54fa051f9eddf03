import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planSpec, parsePlanJson } from '../../src/core/planner';
import { ModelError } from '../../src/core/model';
import type { CallOptions, ModelClient, ModelRequest, ModelResponse } from '../../src/core/model';
import { roleMarker } from '../../src/core/promptMarkers';

/** Replays canned answers (a string, or an error to throw) and records every request. */
class ScriptedModel implements ModelClient {
  readonly endpoint = 'http://fake.invalid/v1';
  readonly model = 'fake-planner';
  readonly requests: ModelRequest[] = [];
  readonly signals: (AbortSignal | undefined)[] = [];
  constructor(private readonly script: (string | Error)[]) {}

  async complete(request: ModelRequest, options?: CallOptions): Promise<ModelResponse> {
    this.requests.push(structuredClone(request));
    this.signals.push(options?.signal);
    const next = this.script.shift();
    if (next === undefined) throw new Error('ScriptedModel: no more answers');
    if (next instanceof Error) throw next;
    return {
      content: next,
      toolCalls: [],
      finishReason: 'stop',
      usage: { promptTokens: 100, completionTokens: 50, cachedTokens: null, reasoningTokens: null, estimated: false },
      timing: { ttftMs: 10, durationMs: 20, outputTokensPerSec: null },
      model: this.model,
      attempts: 1,
    };
  }
}

function taskJson(id: string, dependsOn: string[] = [], files: string[] = []) {
  return { id, title: `Title ${id}`, instructions: `Do ${id}.`, acceptance: [`${id} done`], files, dependsOn };
}

const validAnswer = JSON.stringify({
  tasks: [taskJson('api', [], ['src/api.ts']), taskJson('ui', ['api'], ['src/ui.ts'])],
});
const cyclicAnswer = JSON.stringify({ tasks: [taskJson('a', ['b']), taskJson('b', ['a'])] });

function run(model: ModelClient, extra: Partial<Parameters<typeof planSpec>[0]> = {}) {
  const responses: ModelResponse[] = [];
  const outcome = planSpec({
    spec: 'Build a small todo app.',
    repoView: '## Files (1)\nREADME.md\n',
    model,
    onResponse: (r) => responses.push(r),
    ...extra,
  });
  return { outcome, responses };
}

test('a valid first answer gives a plan; the prompt carries the marker, spec, repo view and schema', async () => {
  const model = new ScriptedModel([validAnswer]);
  const controller = new AbortController();
  const { outcome, responses } = run(model, { signal: controller.signal });
  const result = await outcome;
  assert.ok(result.ok);
  assert.equal(result.repaired, false);
  assert.deepEqual(
    result.plan.tasks.map((t) => t.id),
    ['api', 'ui'],
  );
  assert.equal(result.plan.spec, 'Build a small todo app.');
  assert.equal(responses.length, 1);
  const [request] = model.requests;
  assert.equal(request.messages[0].role, 'system');
  assert.ok(request.messages[0].content.startsWith(roleMarker('planner')));
  assert.match(request.messages[0].content, /parallel/);
  assert.equal(request.messages[1].role, 'user');
  assert.match(request.messages[1].content, /Build a small todo app\.[\s\S]*README\.md/);
  assert.equal(request.responseFormat?.name, 'task_plan');
  assert.equal((request.responseFormat?.schema as { type: string }).type, 'object');
  assert.equal(model.signals[0], controller.signal);
});

test('a cyclic plan gets one repair turn that lists the error, then succeeds', async () => {
  const model = new ScriptedModel([cyclicAnswer, validAnswer]);
  const { outcome, responses } = run(model);
  const result = await outcome;
  assert.ok(result.ok);
  assert.equal(result.repaired, true);
  assert.equal(responses.length, 2);
  assert.equal(model.requests.length, 2);
  const repair = model.requests[1].messages;
  assert.equal(repair.length, 4);
  assert.deepEqual(repair[2], { role: 'assistant', content: cyclicAnswer });
  assert.equal(repair[3].role, 'user');
  assert.match(repair[3].content, /cycle: a → b → a/);
  assert.equal(model.requests[0].messages.length, 2, 'the first request is not mutated afterwards');
});

test('an answer invalid twice gives a clear invalid outcome with the errors and the raw answer', async () => {
  const secondBad = JSON.stringify({ tasks: [taskJson('a', ['ghost']), taskJson('a')] });
  const model = new ScriptedModel([cyclicAnswer, secondBad]);
  const { outcome, responses } = run(model);
  const result = await outcome;
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(result.reason, 'invalid');
  assert.equal(result.raw, secondBad);
  assert.equal(result.errors.length, 2);
  assert.ok(result.errors.some((e) => /"a" is used by 2 tasks/.test(e)));
  assert.ok(result.errors.some((e) => /depends on "ghost"/.test(e)));
  assert.match(result.message, /even after one repair turn \(2 problems\)/);
  assert.equal(responses.length, 2);
  assert.equal(model.requests.length, 2, 'only one repair turn');
});

test('a fenced JSON answer is accepted', async () => {
  const model = new ScriptedModel([`Here is the plan:\n\`\`\`json\n${validAnswer}\n\`\`\`\nGood luck.`]);
  const result = await run(model).outcome;
  assert.ok(result.ok);
  assert.equal(result.repaired, false);
});

test('an answer that is not JSON is repaired with a message saying so', async () => {
  const model = new ScriptedModel(['I think we should start with the API.', validAnswer]);
  const result = await run(model).outcome;
  assert.ok(result.ok);
  assert.equal(result.repaired, true);
  assert.match(model.requests[1].messages[3].content as string, /not valid JSON/);
});

test('maxTasks is enforced and told to the model', async () => {
  const model = new ScriptedModel([validAnswer, validAnswer]);
  const result = await run(model, { maxTasks: 1 }).outcome;
  assert.equal(result.ok, false);
  assert.match(model.requests[0].messages[0].content as string, /at most 1 tasks/);
  assert.match(model.requests[1].messages[3].content as string, /2 tasks but at most 1/);
});

test('a model error is a model outcome, reported to onError', async () => {
  const errors: ModelError[] = [];
  const model = new ScriptedModel([new ModelError('server_error', 'HTTP 503 from the server', 503)]);
  const { outcome, responses } = run(model, { onError: (e) => errors.push(e) });
  const result = await outcome;
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(result.reason, 'model');
  assert.match(result.message, /server_error.*HTTP 503/);
  assert.deepEqual(result.errors, []);
  assert.equal(errors.length, 1);
  assert.equal(responses.length, 0);
});

test('a model error during the repair turn is a model outcome too', async () => {
  const model = new ScriptedModel([cyclicAnswer, new ModelError('timeout', 'took too long')]);
  const result = await run(model).outcome;
  assert.equal(result.ok, false);
  if (!result.ok) assert.equal(result.reason, 'model');
});

test('an unexpected error (a bug) propagates', async () => {
  const model = new ScriptedModel([new TypeError('boom')]);
  await assert.rejects(run(model).outcome, /boom/);
});

test('parsePlanJson tolerates fences without a language and rejects empty answers', () => {
  assert.deepEqual(parsePlanJson('```\n{"tasks": []}\n```'), { ok: true, value: { tasks: [] } });
  assert.deepEqual(parsePlanJson(' {"tasks": [1]} '), { ok: true, value: { tasks: [1] } });
  const empty = parsePlanJson('   ');
  assert.equal(empty.ok, false);
});
