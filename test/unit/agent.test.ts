import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runAgent } from '../../src/core/agent';
import type { AgentHooks, AgentInput, ToolExecutor } from '../../src/core/agent';
import { approxTokens } from '../../src/core/compaction';
import type { BudgetHit, CompactionRecord } from '../../src/core/journal';
import { ModelError } from '../../src/core/model';
import type { ChatMessage, ModelClient, ModelRequest, ModelResponse, ToolCall } from '../../src/core/model';
import { closeOpenToolCalls, INTERRUPTED_TOOL_RESULT } from '../../src/core/transcript';
import type { ToolOutcome } from '../../src/core/tools';

/** A model that replays canned answers (or errors) and records what it was asked. */
class FakeModel implements ModelClient {
  readonly endpoint = 'fake://model';
  readonly model = 'fake';
  readonly requests: ModelRequest[] = [];
  constructor(private readonly answers: (Partial<ModelResponse> | ModelError)[]) {}

  async complete(request: ModelRequest): Promise<ModelResponse> {
    this.requests.push({ ...request, messages: [...request.messages] });
    const next = this.answers[Math.min(this.requests.length - 1, this.answers.length - 1)];
    if (next instanceof ModelError) throw next;
    return {
      content: '',
      toolCalls: [],
      finishReason: 'stop',
      usage: { promptTokens: 100, completionTokens: 10, cachedTokens: null, reasoningTokens: null, estimated: false },
      timing: { ttftMs: 1, durationMs: 2, outputTokensPerSec: null },
      model: 'fake',
      attempts: 1,
      ...next,
    };
  }
}

const call = (name: string, args: unknown, id = `c-${name}`): ToolCall => ({
  id,
  name,
  arguments: JSON.stringify(args),
});

/** Tools that record calls; `finish` finishes. */
function fakeTools(): ToolExecutor & { calls: ToolCall[] } {
  const calls: ToolCall[] = [];
  return {
    calls,
    schemas: [],
    async execute(c): Promise<ToolOutcome> {
      calls.push(c);
      if (c.name === 'finish')
        return {
          ok: true,
          content: 'finished',
          summary: 'finish',
          finished: { summary: JSON.parse(c.arguments).summary },
        };
      return { ok: true, content: `ran ${c.name}`, summary: c.name };
    },
  };
}

function input(
  model: ModelClient,
  tools: ToolExecutor,
  over: Partial<AgentInput> = {},
  hooks: Partial<AgentHooks> = {},
): AgentInput {
  return {
    messages: [
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'task' },
    ],
    model,
    tools,
    limits: { maxSteps: 10, maxTokens: null, deadline: null },
    clock: { now: () => 0 },
    signal: new AbortController().signal,
    spent: { steps: 0, tokens: 0 },
    hooks: {
      beforeRequest: () => null,
      onResponse() {},
      onRequestError() {},
      onMessage() {},
      onStep() {},
      onTool() {},
      onCompacted() {},
      ...hooks,
    },
    ...over,
  };
}

test('runs tool calls in order until finish, appending to the conversation', async () => {
  const model = new FakeModel([
    { toolCalls: [call('read_file', { path: 'a' })] },
    { toolCalls: [call('finish', { summary: 'all done' })] },
  ]);
  const tools = fakeTools();
  const messages: ChatMessage[] = [];
  const outcome = await runAgent(input(model, tools, {}, { onMessage: (m) => messages.push(m) }));
  assert.deepEqual(outcome, { steps: 2, tokens: 220, status: 'finished', summary: 'all done' });
  assert.deepEqual(
    tools.calls.map((c) => c.name),
    ['read_file', 'finish'],
  );
  assert.deepEqual(
    messages.map((m) => m.role),
    ['assistant', 'tool', 'assistant', 'tool'],
  );
  // History is only appended to: the second request starts with every message of the first.
  assert.deepEqual(model.requests[1].messages.slice(0, 2), model.requests[0].messages);
});

test('every tool call after finish gets an answer but does not run', async () => {
  const model = new FakeModel([{ toolCalls: [call('finish', { summary: 's' }), call('write_file', { path: 'x' })] }]);
  const tools = fakeTools();
  const ai = input(model, tools);
  await runAgent(ai);
  assert.deepEqual(
    tools.calls.map((c) => c.name),
    ['finish'],
  );
  const last = ai.messages.at(-1);
  assert.equal(last?.role, 'tool');
  assert.match(last?.role === 'tool' ? last.content : '', /not run/);
});

test('an answer without tool calls is nudged, and three in a row end the task', async () => {
  const model = new FakeModel([{ content: 'thinking…' }]);
  const outcome = await runAgent(input(model, fakeTools()));
  assert.equal(outcome.status, 'error');
  assert.equal(model.requests.length, 3);
  assert.equal(model.requests[1].messages.at(-1)?.role, 'user');
});

test('limits on steps, tokens and time stop the loop before the next request', async () => {
  const busy = () => new FakeModel([{ toolCalls: [call('list_dir', {})] }]);
  const bySteps = await runAgent(
    input(busy(), fakeTools(), { limits: { maxSteps: 3, maxTokens: null, deadline: null } }),
  );
  assert.deepEqual([bySteps.status, bySteps.steps], ['limit', 3]);
  const byTokens = await runAgent(
    input(busy(), fakeTools(), { limits: { maxSteps: 99, maxTokens: 300, deadline: null } }),
  );
  assert.deepEqual([byTokens.status, byTokens.steps], ['limit', 3]);
  let now = 0;
  const byTime = await runAgent(
    input(busy(), fakeTools(), {
      clock: { now: () => (now += 10) },
      limits: { maxSteps: 99, maxTokens: null, deadline: 35 },
    }),
  );
  assert.equal(byTime.status, 'limit');
  assert.ok(byTime.steps < 5);
});

test('a budget hit stops the loop without sending the request', async () => {
  const model = new FakeModel([{ toolCalls: [call('list_dir', {})] }]);
  const hit: BudgetHit = { scope: 'run', kind: 'tokens', limit: 200, used: 220 };
  let asked = 0;
  const outcome = await runAgent(input(model, fakeTools(), {}, { beforeRequest: () => (++asked > 2 ? hit : null) }));
  assert.equal(outcome.status, 'budget');
  assert.equal(model.requests.length, 2);
});

test('a model error ends the task with the reason; an abort is a stop', async () => {
  const failing = new FakeModel([new ModelError('server_error', 'HTTP 503 after 5 attempts', 503)]);
  const errors: ModelError[] = [];
  const outcome = await runAgent(input(failing, fakeTools(), {}, { onRequestError: (e) => errors.push(e) }));
  assert.equal(outcome.status, 'error');
  assert.match(outcome.status === 'error' ? outcome.message : '', /503/);
  assert.equal(errors.length, 1);

  const abort = new AbortController();
  abort.abort();
  const stopped = await runAgent(input(new FakeModel([{}]), fakeTools(), { signal: abort.signal }));
  assert.equal(stopped.status, 'stopped');
});

test('steps and tokens continue from earlier rounds', async () => {
  const model = new FakeModel([{ toolCalls: [call('finish', { summary: 's' })] }]);
  const outcome = await runAgent(input(model, fakeTools(), { spent: { steps: 4, tokens: 1000 } }));
  assert.deepEqual([outcome.steps, outcome.tokens], [5, 1110]);
});

test('a conversation cut off mid tool call is closed with interrupted answers', () => {
  const messages: ChatMessage[] = [
    { role: 'system', content: 's' },
    { role: 'assistant', content: null, toolCalls: [call('write_file', {}, 'a'), call('run_command', {}, 'b')] },
    { role: 'tool', toolCallId: 'a', content: 'ok' },
  ];
  const added = closeOpenToolCalls(messages);
  assert.deepEqual(added, [{ role: 'tool', toolCallId: 'b', content: INTERRUPTED_TOOL_RESULT }]);
  assert.equal(messages.length, 4);
  assert.deepEqual(closeOpenToolCalls(messages), []);
});

/** A model with a context window: a request over `window` (approxTokens) gets vLLM's refusal. */
class WindowedModel implements ModelClient {
  readonly endpoint = 'fake://model';
  readonly model = 'fake';
  readonly requests: ChatMessage[][] = [];
  private answered = 0;
  constructor(
    private readonly window: number,
    private readonly answers: Partial<ModelResponse>[],
  ) {}

  async complete(request: ModelRequest): Promise<ModelResponse> {
    this.requests.push([...request.messages]);
    const size = approxTokens(request.messages);
    if (size > this.window)
      throw new ModelError(
        'context_length',
        `400 This model's maximum context length is ${this.window} tokens. However, your request has ${size} input tokens.`,
        400,
      );
    const next = this.answers[Math.min(this.answered++, this.answers.length - 1)];
    return {
      content: '',
      toolCalls: [],
      finishReason: 'tool_calls',
      usage: { promptTokens: size, completionTokens: 10, cachedTokens: null, reasoningTokens: null, estimated: false },
      timing: { ttftMs: 1, durationMs: 2, outputTokensPerSec: null },
      model: 'fake',
      attempts: 1,
      ...next,
    };
  }
}

/** Tools whose read_file returns `size` characters. */
function bigReads(size: number): ToolExecutor {
  return {
    schemas: [],
    async execute(c): Promise<ToolOutcome> {
      if (c.name === 'finish')
        return { ok: true, content: 'finished', summary: 'finish', finished: { summary: 'done' } };
      return { ok: true, content: 'r'.repeat(size), summary: c.name };
    },
  };
}

test('a context-length refusal compacts the conversation and asks again; the loop goes on to finish', async () => {
  const model = new WindowedModel(2_500, [
    { toolCalls: [call('read_file', { path: 'a' }, 'c1')] },
    { toolCalls: [call('read_file', { path: 'b' }, 'c2')] },
    { toolCalls: [call('read_file', { path: 'c' }, 'c3')] },
    { toolCalls: [call('finish', { summary: 'done' }, 'c4')] },
  ]);
  const compactions: CompactionRecord[] = [];
  const outcome = await runAgent(input(model, bigReads(4_000), {}, { onCompacted: (r) => compactions.push(r) }));
  assert.equal(outcome.status, 'finished');
  assert.ok(compactions.length >= 1);
  assert.equal(compactions[0].contextWindow, 2_500);
  const refusedAt = model.requests.findIndex((m) => approxTokens(m) > 2_500);
  const retried = model.requests[refusedAt + 1];
  assert.equal(retried.length, model.requests[refusedAt].length, 'nothing removed');
  assert.deepEqual(retried.slice(0, 2), model.requests[0].slice(0, 2), 'system prompt and task as they were');
  assert.ok(approxTokens(retried) <= 2_500);
});

test('when nothing is left to shorten the task ends with the window named', async () => {
  const model = new WindowedModel(1, [{ toolCalls: [call('finish', { summary: 'done' })] }]);
  const outcome = await runAgent(input(model, bigReads(10)));
  assert.equal(outcome.status, 'error');
  assert.match(
    outcome.status === 'error' ? outcome.message : '',
    /^the conversation no longer fits the model's context window of 1 tokens, even with every older tool output elided/,
  );
});
