import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createScriptedServer } from '../../src/scripted/server';
import type { ChatRequest, Responder, ScriptedServer } from '../../src/scripted/server';
import { scenarioResponder, text, toolCall } from '../../src/scripted/scenario';
import { roleMarker, taskMarker } from '../../src/core/promptMarkers';

interface Chunk {
  choices: {
    delta: {
      content?: string;
      role?: string;
      tool_calls?: { index: number; id?: string; function?: { name?: string; arguments?: string } }[];
    };
    finish_reason: string | null;
  }[];
  usage?: { prompt_tokens: number; completion_tokens: number; prompt_tokens_details?: { cached_tokens: number } };
}

async function withServer(
  responder: Responder,
  fn: (s: ScriptedServer) => Promise<void>,
  opts: object = {},
): Promise<void> {
  const server = await createScriptedServer({ responder, ...opts });
  try {
    await fn(server);
  } finally {
    await server.close();
  }
}

function post(server: ScriptedServer, body: object, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.url}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** The raw `data:` payloads of an SSE body. */
function dataLines(body: string): string[] {
  return body
    .split('\n\n')
    .filter((f) => f.startsWith('data: '))
    .map((f) => f.slice('data: '.length));
}

async function streamChunks(server: ScriptedServer, body: object): Promise<{ chunks: Chunk[]; done: boolean }> {
  const res = await post(server, { stream: true, ...body });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const lines = dataLines(await res.text());
  const done = lines[lines.length - 1] === '[DONE]';
  return { chunks: lines.filter((l) => l !== '[DONE]').map((l) => JSON.parse(l) as Chunk), done };
}

const user = (content: string) => ({ role: 'user', content });

test('streams content split over several chunks, then usage and [DONE]', async () => {
  const answer = 'The quick brown fox jumps over the lazy dog, twice over.';
  await withServer(
    () => text(answer),
    async (server) => {
      const { chunks, done } = await streamChunks(server, {
        messages: [user('hi')],
        stream_options: { include_usage: true },
      });
      assert.ok(done);
      const contentChunks = chunks.filter((c) => c.choices[0]?.delta.content);
      assert.ok(contentChunks.length >= 3, `only ${contentChunks.length} content chunks`);
      assert.equal(contentChunks.map((c) => c.choices[0].delta.content).join(''), answer);
      assert.equal(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason, 'stop');
      const last = chunks[chunks.length - 1];
      assert.deepEqual(last.choices, []);
      assert.equal(last.usage?.completion_tokens, Math.ceil(answer.length / 4));

      const plain = await streamChunks(server, { messages: [user('hi')] });
      assert.ok(
        plain.chunks.every((c) => c.usage === undefined),
        'usage sent without include_usage',
      );
    },
  );
});

test('streams tool calls as OpenAI does: id and name first, arguments split after', async () => {
  const args = { path: 'src/some/long/file/name.ts', content: 'export const answer = 42;\n' };
  await withServer(
    () => ({
      toolCalls: [
        { name: 'write_file', arguments: args },
        { name: 'finish', arguments: '{"summary":"ok"}' },
      ],
    }),
    async (server) => {
      const { chunks } = await streamChunks(server, { messages: [user('go')] });
      const deltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
      const first = deltas.filter((d) => d.index === 0);
      assert.equal(first[0].function?.name, 'write_file');
      assert.ok(first[0].id);
      assert.ok(first.length >= 3, 'arguments not split over several chunks');
      assert.ok(first.slice(1).every((d) => d.id === undefined && d.function?.name === undefined));
      assert.deepEqual(JSON.parse(first.map((d) => d.function?.arguments ?? '').join('')), args);
      assert.equal(
        deltas
          .filter((d) => d.index === 1)
          .map((d) => d.function?.arguments ?? '')
          .join(''),
        '{"summary":"ok"}',
      );
      assert.equal(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0].finish_reason, 'tool_calls');
    },
  );
});

test('answers stream:false with one body, lists models and records requests', async () => {
  await withServer(
    () => ({ content: 'plain', usage: { prompt: 11, completion: 3, cached: 5, reasoning: 2 } }),
    async (server) => {
      const res = await post(server, { model: 'm1', messages: [user('x')] }, { 'X-Custom': 'yes' });
      const body = (await res.json()) as {
        model: string;
        choices: { message: { content: string } }[];
        usage: Record<string, unknown>;
      };
      assert.equal(body.model, 'm1');
      assert.equal(body.choices[0].message.content, 'plain');
      assert.deepEqual(body.usage, {
        prompt_tokens: 11,
        completion_tokens: 3,
        total_tokens: 14,
        prompt_tokens_details: { cached_tokens: 5 },
        completion_tokens_details: { reasoning_tokens: 2 },
      });
      const models = (await (await fetch(`${server.url}/models`)).json()) as { data: { id: string }[] };
      assert.equal(models.data[0].id, 'foreman-test-model');
      assert.equal(server.requests.length, 1);
      assert.equal(server.requests[0].headers['x-custom'], 'yes');
      assert.equal(server.requests[0].body.model, 'm1');
    },
  );
});

test('simulates prefix caching; reportCached:false and usage:none leave fields out', async () => {
  const shared = 'A long system prompt that every request shares. '.repeat(20);
  const sys = { role: 'system', content: shared };
  await withServer(
    () => text('ok'),
    async (server) => {
      const usageOf = async (messages: object[]) => {
        const res = await post(server, { messages });
        return (
          (await res.json()) as { usage: { prompt_tokens: number; prompt_tokens_details?: { cached_tokens: number } } }
        ).usage;
      };
      const first = await usageOf([sys, user('first question')]);
      assert.equal(first.prompt_tokens_details?.cached_tokens, 0);
      const second = await usageOf([sys, user('second question')]);
      const cached = second.prompt_tokens_details?.cached_tokens ?? 0;
      assert.ok(cached >= Math.floor(shared.length / 4) && cached < second.prompt_tokens, `cached=${cached}`);
    },
  );
  await withServer(
    () => text('ok'),
    async (server) => {
      const body = (await (await post(server, { messages: [sys] })).json()) as { usage: Record<string, unknown> };
      assert.equal(typeof body.usage.prompt_tokens, 'number');
      assert.equal('prompt_tokens_details' in body.usage, false);
    },
    { reportCached: false },
  );
  await withServer(
    () => ({ content: 'ok', usage: 'none' }),
    async (server) => {
      const { chunks } = await streamChunks(server, { messages: [sys], stream_options: { include_usage: true } });
      assert.ok(chunks.every((c) => c.usage === undefined));
    },
  );
});

test('refuses json_schema and forced tool_choice when told to', async () => {
  await withServer(
    () => text('{}'),
    async (server) => {
      const res = await post(server, {
        messages: [user('x')],
        response_format: { type: 'json_schema', json_schema: { name: 'p', schema: {} } },
      });
      assert.equal(res.status, 400);
      const body = (await res.json()) as { error: { message: string } };
      assert.match(body.error.message, /response_format json_schema is not supported/);
      const forced = await post(server, {
        messages: [user('x')],
        tool_choice: { type: 'function', function: { name: 'p' } },
      });
      assert.equal(forced.status, 400);
      const plain = await post(server, { messages: [user('x')], response_format: { type: 'json_object' } });
      assert.equal(plain.status, 200);
    },
    { supportsJsonSchema: false, supportsToolChoice: false },
  );
});

test('a forced tool_choice turns scripted JSON content into that tool call', async () => {
  await withServer(
    () => text('{"tasks":[]}'),
    async (server) => {
      const { chunks } = await streamChunks(server, {
        messages: [user('x')],
        tool_choice: { type: 'function', function: { name: 'plan' } },
      });
      const deltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
      assert.equal(deltas[0].function?.name, 'plan');
      assert.equal(deltas.map((d) => d.function?.arguments ?? '').join(''), '{"tasks":[]}');
    },
  );
});

test('injects rate limits, server errors and malformed chunks', async () => {
  const faults = [
    { fault: 'rate_limit', retryAfterSec: 2 },
    { fault: 'server_error', status: 503 },
    { fault: 'malformed' },
  ] as const;
  await withServer(
    (_req, { index }) => faults[index],
    async (server) => {
      const limited = await post(server, { messages: [user('x')] });
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get('retry-after'), '2');
      assert.equal((await post(server, { messages: [user('x')] })).status, 503);
      const res = await post(server, { stream: true, messages: [user('x')] });
      const lines = dataLines(await res.text()).filter((l) => l !== '[DONE]');
      assert.ok(
        lines.some((l) => {
          try {
            JSON.parse(l);
            return false;
          } catch {
            return true; // this is the malformed line the test looks for
          }
        }),
      );
    },
  );
});

test('a cut stream ends without [DONE]; a stalled one is ended by close()', async () => {
  const server = await createScriptedServer({
    responder: (_req, { index }) =>
      index === 0 ? { fault: 'cut', afterChunks: 2 } : { fault: 'stall', afterChunks: 1 },
  });
  try {
    const cut = await post(server, { stream: true, messages: [user('x')] });
    await assert.rejects(cut.text());
    const stalled = await post(server, { stream: true, messages: [user('x')] });
    const reader = stalled.body!.getReader();
    const first = await reader.read();
    assert.match(new TextDecoder().decode(first.value), /^data: /);
    const pending = reader.read();
    const started = Date.now();
    await server.close();
    await assert.rejects(pending);
    assert.ok(Date.now() - started < 1000);
  } finally {
    await server.close().catch(() => undefined); // already closed in the happy path
  }
});

test('scenario routes by role, task and step, with faults before the reply', async () => {
  const responder = scenarioResponder({
    planner: [text('plan-0'), text('plan-1')],
    agents: {
      'task-a': [
        toolCall('read_file', { path: 'a' }),
        { faults: [{ fault: 'server_error' }], then: (req: ChatRequest) => text(`seen ${req.messages.length}`) },
      ],
    },
    reviewer: [{ faults: [{ fault: 'rate_limit' }, { fault: 'malformed' }], then: text('lgtm') }],
  });
  const sys = (role: 'planner' | 'agent' | 'reviewer') => ({
    role: 'system',
    content: `${roleMarker(role)}\nYou are...`,
  });
  const asst = { role: 'assistant', content: 'x' };
  const call = (messages: object[]) => responder({ messages } as ChatRequest, { index: 0 });
  assert.deepEqual(await call([sys('planner'), user('spec')]), text('plan-0'));
  assert.deepEqual(await call([sys('planner'), user('spec'), asst, user('again')]), text('plan-1'));
  assert.deepEqual(await call([sys('planner'), user('s'), asst, user('a'), asst, user('b')]), text('plan-1'));
  const agentUser = user(`Do it.\n${taskMarker('task-a')}\n`);
  assert.deepEqual(await call([sys('agent'), agentUser]), toolCall('read_file', { path: 'a' }));
  const step1 = [sys('agent'), agentUser, asst, user('result')];
  assert.deepEqual(await call(step1), { fault: 'server_error' });
  assert.deepEqual(await call(step1), text('seen 4'));
  assert.deepEqual(await call([sys('reviewer'), user('r')]), { fault: 'rate_limit' });
  assert.deepEqual(await call([sys('reviewer'), user('r')]), { fault: 'malformed' });
  assert.deepEqual(await call([sys('reviewer'), user('r')]), text('lgtm'));
  const other = await call([sys('agent'), user(`${taskMarker('task-b')}`)]);
  assert.deepEqual(other, toolCall('finish', { summary: 'done' }));
  const unknown = await call([{ role: 'system', content: 'no marker' }, user('x')]);
  assert.equal(typeof (unknown as { content?: string }).content, 'string');
});

test('runs as a program: prints its URL, serves the scenario, stops on SIGTERM', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'foreman-scripted-'));
  try {
    const file = join(dir, 'scenario.mjs');
    await writeFile(file, "export default { planner: [{ content: 'from file' }] };\n");
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/scripted/main.ts', '--port', '0', '--scenario', file, '--no-cached'],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /listening (\S+)\n/.exec(out);
        if (m) resolve(m[1]);
      });
      child.once('exit', () => reject(new Error(`exited early: ${out}`)));
    });
    const res = await fetch(`${url}/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ messages: [{ role: 'system', content: roleMarker('planner') }] }),
    });
    const body = (await res.json()) as { choices: { message: { content: string } }[]; usage: object };
    assert.equal(body.choices[0].message.content, 'from file');
    assert.equal('prompt_tokens_details' in body.usage, false);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** Starts src/scripted/main.ts with `args`; its URL once it listens, or its exit code and stderr. */
function program(
  args: string[],
): Promise<{ url: string; stop: () => Promise<number | null> } | { code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/scripted/main.ts', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve) => {
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /listening (\S+)\n/.exec(out);
      if (m) resolve({ url: m[1], stop: () => (child.kill('SIGTERM'), exited) });
    });
    void exited.then((code) => resolve({ code, stderr }));
  });
}

test('with --gpu, the program answers through a simulated GPU and serves its vLLM metrics and DCGM energy', async () => {
  const started = await program(['--scenario', 'demo', '--gpu', '--gpu-slots', '4']);
  assert.ok('url' in started, JSON.stringify(started));
  const origin = new URL(started.url).origin;
  const res = await fetch(`${started.url}/chat/completions`, {
    method: 'POST',
    body: JSON.stringify({ model: 'scripted-demo', messages: [{ role: 'system', content: roleMarker('reviewer') }] }),
  });
  assert.equal(res.status, 200);
  await res.text();
  const metrics = await (await fetch(`${origin}/metrics`)).text();
  assert.match(metrics, /^vllm:num_requests_running\{model_name="scripted-demo"\} 0$/m);
  const generated = Number(/^vllm:generation_tokens_total\{[^}]*\} ([\d.]+)$/m.exec(metrics)?.[1]);
  assert.ok(generated >= 1, `the answer's tokens were generated on the GPU: ${metrics}`);
  const dcgm = await (await fetch(`${origin}/dcgm/metrics`)).text();
  const mJ = Number(/^DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION\{[^}]*\} (\d+)$/m.exec(dcgm)?.[1]);
  assert.ok(mJ > 0, dcgm);
  assert.equal(await started.stop(), 0);
  // Without --gpu there is no GPU to read.
  const plain = await program(['--scenario', 'demo']);
  assert.ok('url' in plain);
  assert.equal((await fetch(`${new URL(plain.url).origin}/metrics`)).status, 404);
  assert.equal(await plain.stop(), 0);
});

test('bad --gpu flags get a sentence and exit 1', async () => {
  for (const [args, sentence] of [
    [['--gpu', '--gpu-slots', '0'], 'scripted: --gpu-slots needs a whole number above 0, not 0\n'],
    [['--gpu', '--gpu-speed', 'fast'], 'scripted: --gpu-speed needs a number above 0, not fast\n'],
    [['--gpu-speed', '0.5'], 'scripted: --gpu-slots and --gpu-speed need --gpu\n'],
  ] as const) {
    assert.deepEqual(await program([...args]), { code: 1, stderr: sentence });
  }
});
