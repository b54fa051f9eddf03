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

/** A refusal for length that names neither the window nor the prompt's size (llama.cpp's older words). */
const tooLong = () =>
  new ModelError('context_length', 'the request exceeds the available context size, try increasing it', 400);

const longView = `## Files (200)\n${Array.from({ length: 200 }, (_, i) => `src/file-${String(i).padStart(3, '0')}.ts`).join('\n')}\n`;

function viewSent(request: ModelRequest): string {
  const user = request.messages[1].content ?? '';
  return user.slice(user.indexOf('# Repository\n\n') + 14);
}

test('a refusal for length is answered with half the repository view, the spec whole, and said in the notes', async () => {
  const model = new ScriptedModel([tooLong(), tooLong(), validAnswer]);
  const result = await run(model, { repoView: longView }).outcome;
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(model.requests.length, 3);
  const whole = longView.trim();
  assert.equal(whole.length, 3_214);
  const sent = model.requests.map(viewSent);
  assert.equal(sent[0], `${whole}\n`);
  for (const [i, request] of model.requests.entries()) {
    assert.deepEqual(request.messages[0], model.requests[0].messages[0], 'the system prompt whole');
    assert.ok(
      request.messages[1].content?.startsWith('# Specification\n\nBuild a small todo app.\n\n# Repository'),
      `${i}`,
    );
  }
  // Halved each time (the refusal gives no numbers), at a line's end, with the marker.
  assert.ok(whole.startsWith(sent[1].slice(0, sent[1].indexOf('\n[the repository view cut'))));
  const shown = (s: string) => s.indexOf('\n[the repository view cut') + 1;
  assert.ok(shown(sent[1]) <= Math.floor(whole.length / 2) + 1 && shown(sent[1]) > whole.length / 4);
  assert.ok(shown(sent[2]) <= Math.floor(sent[1].length / 2) + 1);
  assert.match(
    sent[2],
    /\[the repository view cut to fit the model's context window: [\d,]+ characters of 3,214 not shown\]\n$/,
  );
  assert.deepEqual(
    result.notes.map((n) => n.replace(/[\d,]+ of/, 'N of')),
    Array(2).fill(
      `The repository view was too long for the planner model's context window: the planner was shown N of its ${whole.length.toLocaleString('en-US')} characters.`,
    ),
  );
});

test('the last try sends no repository view; refused again, planning fails with the spec-size sentence', async () => {
  const model = new ScriptedModel([tooLong(), tooLong(), tooLong(), tooLong(), tooLong()]);
  const errors: ModelError[] = [];
  const result = await run(model, { repoView: longView, onError: (e) => errors.push(e) }).outcome;
  assert.equal(model.requests.length, 5);
  assert.match(
    viewSent(model.requests[4]),
    /^\[the repository view cut to fit the model's context window: 3,214 characters of 3,214 not shown\]\n$/,
  );
  assert.equal(result.ok, false);
  assert.ok(!result.ok);
  assert.equal(result.reason, 'model');
  assert.equal(
    result.message,
    "The spec does not fit the planner model's context window: it is 23 characters (about 6 tokens at four characters a token), and with the planner's instructions and no repository view the prompt is still too long (the backend said: the request exceeds the available context size, try increasing it). Shorten the spec, or plan with a model whose context window is larger.",
  );
  assert.equal(errors.length, 1, 'only the failure for good is reported');
});

test('a refusal for length on the repair turn is answered the same way', async () => {
  const model = new ScriptedModel([cyclicAnswer, tooLong(), validAnswer]);
  const result = await run(model, { repoView: longView }).outcome;
  assert.ok(result.ok);
  assert.equal(result.repaired, true);
  assert.equal(result.notes.length, 1);
  const [, refused, answered] = model.requests;
  assert.equal(refused.messages.length, 4);
  assert.equal(answered.messages.length, 4);
  assert.deepEqual(answered.messages.slice(2), refused.messages.slice(2), 'the answer and the repair prompt whole');
  assert.ok(viewSent(answered).length < viewSent(refused).length);
});

test('a refusal for length that is not one the view can fix fails at once', async () => {
  // The backend counted 40,000 tokens with a window of 1,000: the spec and instructions alone are over it.
  const refusal = new ModelError(
    'context_length',
    "This model's maximum context length is 1000 tokens. However, your request has 40000 input tokens.",
    400,
  );
  const model = new ScriptedModel([refusal]);
  const result = await run(model, { repoView: longView }).outcome;
  assert.equal(model.requests.length, 1);
  assert.ok(!result.ok);
  assert.match(
    result.message,
    /^The spec does not fit the planner model's context window of 1,000 tokens: it is 23 characters/,
  );
});
