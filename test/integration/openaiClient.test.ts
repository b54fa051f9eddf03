import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { createNodeFetch } from '../../src/infra/nodeFetch';
import { createOpenAIClient, publicEndpoint } from '../../src/infra/openaiClient';
import type { BackendConfig } from '../../src/infra/openaiClient';
import { parseRetryAfter } from '../../src/infra/openaiRetry';
import { estimateTokens } from '../../src/infra/tokenEstimate';
import { ModelError } from '../../src/core/model';
import type { ModelErrorReason, ModelRequest } from '../../src/core/model';
import { createScriptedServer } from '../../src/scripted/server';
import type { Fault, Reply, Responder, ScriptedServer, ScriptedServerOptions } from '../../src/scripted/server';
import { text, toolCall } from '../../src/scripted/scenario';
import { contentText } from '../../src/scripted/wire';

const FAST = { retryBaseMs: 5, retryMaxMs: 20, idleTimeoutMs: 400, requestTimeoutMs: 5_000 };

async function withServer(
  responder: Responder,
  fn: (server: ScriptedServer, config: BackendConfig) => Promise<void>,
  opts: Partial<ScriptedServerOptions> = {},
): Promise<void> {
  const server = await createScriptedServer({ responder, ...opts });
  try {
    await fn(server, { baseUrl: server.url, model: 'test-model', ...FAST });
  } finally {
    await server.close();
  }
}

/** Faults for the first requests, then `reply` for every later one. */
function faultsThen(faults: Fault[], reply: Reply): Responder {
  return (_req, { index }) => faults[index] ?? reply;
}

const ask = (content = 'hello'): ModelRequest => ({
  messages: [
    { role: 'system', content: 'sys' },
    { role: 'user', content },
  ],
});

async function rejectsWith(p: Promise<unknown>, reason: ModelErrorReason): Promise<ModelError> {
  let caught: unknown;
  await assert.rejects(p, (e: unknown) => {
    caught = e;
    return true;
  });
  assert.ok(ModelError.is(caught), `not a ModelError: ${String(caught)}`);
  assert.equal(caught.reason, reason, caught.message);
  return caught;
}

test('streams text, reports deltas, usage, timing and sends the right request', async () => {
  const answer = 'Streaming works: this sentence arrives in several pieces.';
  await withServer(
    () => ({ content: answer, chunkDelayMs: 5 }),
    async (server, config) => {
      const client = createOpenAIClient({ ...config, apiKey: 'sk-secret-123', headers: { 'x-team': 'foreman' } });
      const deltas: string[] = [];
      const res = await client.complete(
        { ...ask(), maxTokens: 100, temperature: 0.2 },
        { onDelta: (d) => deltas.push(d) },
      );
      assert.equal(res.content, answer);
      assert.ok(deltas.length >= 3);
      assert.equal(deltas.join(''), answer);
      assert.equal(res.finishReason, 'stop');
      assert.equal(res.attempts, 1);
      assert.equal(res.model, 'test-model');
      assert.equal(res.usage.estimated, false);
      assert.equal(res.usage.completionTokens, Math.ceil(answer.length / 4));
      assert.equal(res.usage.cachedTokens, 0);
      assert.equal(res.usage.reasoningTokens, null);
      assert.ok(res.timing.ttftMs !== null && res.timing.ttftMs <= res.timing.durationMs);
      assert.ok((res.timing.outputTokensPerSec ?? 0) > 0);
      const sent = server.requests[0];
      assert.equal(sent.body.stream, true);
      assert.deepEqual(sent.body.stream_options, { include_usage: true });
      assert.equal(sent.body.max_tokens, 100);
      assert.equal(sent.body.temperature, 0.2);
      assert.equal(sent.headers.authorization, 'Bearer sk-secret-123');
      assert.equal(sent.headers['x-team'], 'foreman');
      assert.ok(!JSON.stringify(sent.body).includes('sk-secret-123'));
    },
  );
});

test('assembles tool calls from split deltas and maps messages and tools to the wire', async () => {
  const args = { path: 'src/index.ts', content: 'export {};\n'.repeat(5) };
  const reply: Reply = {
    toolCalls: [
      { name: 'write_file', arguments: args },
      { name: 'finish', arguments: { summary: 'ok' } },
    ],
  };
  await withServer(
    () => reply,
    async (server, config) => {
      const client = createOpenAIClient(config);
      const tools = ['b_tool', 'a_tool'].map((name) => ({ name, description: name, parameters: { type: 'object' } }));
      const res = await client.complete({
        messages: [
          { role: 'system', content: 'sys' },
          { role: 'user', content: 'go' },
          { role: 'assistant', content: null, toolCalls: [{ id: 'c1', name: 'read_file', arguments: '{"path":"a"}' }] },
          { role: 'tool', toolCallId: 'c1', content: 'file text' },
          { role: 'assistant', content: 'thinking' },
        ],
        tools,
      });
      assert.equal(res.toolCalls.length, 2);
      assert.equal(res.toolCalls[0].name, 'write_file');
      assert.deepEqual(JSON.parse(res.toolCalls[0].arguments), args);
      assert.ok(res.toolCalls[0].id.length > 0 && res.toolCalls[0].id !== res.toolCalls[1].id);
      assert.deepEqual(JSON.parse(res.toolCalls[1].arguments), { summary: 'ok' });
      assert.equal(res.finishReason, 'tool_calls');
      assert.equal(res.content, '');
      const body = server.requests[0].body;
      assert.deepEqual(
        body.tools?.map((t) => t.function.name),
        ['b_tool', 'a_tool'],
      );
      assert.deepEqual(body.messages[2], {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'c1', type: 'function', function: { name: 'read_file', arguments: '{"path":"a"}' } }],
      });
      assert.deepEqual(body.messages[3], { role: 'tool', tool_call_id: 'c1', content: 'file text' });
      assert.deepEqual(body.messages[4], { role: 'assistant', content: 'thinking' });
    },
  );
});

test('usage: cached tokens null when not reported, numbers when reported, estimate when absent', async () => {
  await withServer(
    () => text('ok'),
    async (_s, config) => {
      const res = await createOpenAIClient(config).complete(ask());
      assert.equal(res.usage.cachedTokens, null);
      assert.equal(res.usage.estimated, false);
    },
    { reportCached: false },
  );
  await withServer(
    () => ({ content: 'ok', usage: { prompt: 900, completion: 40, cached: 512, reasoning: 7 } }),
    async (_s, config) => {
      const res = await createOpenAIClient(config).complete(ask());
      assert.deepEqual(res.usage, {
        promptTokens: 900,
        completionTokens: 40,
        cachedTokens: 512,
        reasoningTokens: 7,
        estimated: false,
      });
    },
  );
  const output = 'An answer from a server that reports no usage at all.';
  await withServer(
    () => ({ content: output, usage: 'none' }),
    async (_s, config) => {
      const res = await createOpenAIClient(config).complete(ask('count my tokens please'));
      assert.equal(res.usage.estimated, true);
      assert.equal(res.usage.completionTokens, estimateTokens(output));
      assert.ok(res.usage.promptTokens >= estimateTokens('count my tokens please'));
      assert.equal(res.usage.cachedTokens, null);
      assert.equal(res.usage.reasoningTokens, null);
    },
  );
});

test('a 429 with Retry-After is honoured before the retry succeeds', async () => {
  await withServer(
    faultsThen([{ fault: 'rate_limit', retryAfterSec: 0.4 }], text('after the wait')),
    async (server, config) => {
      const res = await createOpenAIClient(config).complete(ask());
      assert.equal(res.content, 'after the wait');
      assert.equal(res.attempts, 2);
      const gap = server.requests[1].receivedAt - server.requests[0].receivedAt;
      assert.ok(gap >= 380, `retried after only ${gap} ms`);
    },
  );
});

test('a 429 closes the gate for every request of the client', async () => {
  await withServer(faultsThen([{ fault: 'rate_limit', retryAfterMs: 500 }], text('ok')), async (server, config) => {
    const client = createOpenAIClient(config);
    const first = client.complete(ask('first'));
    while (server.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 60)); // let the 429 reach the client
    const second = client.complete(ask('second'));
    await Promise.all([first, second]);
    const limitedAt = server.requests[0].receivedAt;
    const secondArrival = server.requests.find((r) => r.body.messages[1].content === 'second')!.receivedAt;
    assert.ok(
      secondArrival - limitedAt >= 450,
      `second request went out ${secondArrival - limitedAt} ms after the 429`,
    );
  });
});

test('retries a 500, a cut stream, a stall and a malformed chunk, returning only the whole answer', async () => {
  const full = 'The complete answer, not a partial one from a broken attempt.';
  const faults: Fault[] = [
    { fault: 'server_error', status: 500 },
    { fault: 'cut', afterChunks: 3 },
    { fault: 'stall', afterChunks: 2 },
    { fault: 'stall', afterChunks: 0 }, // headers, then nothing
    { fault: 'silent' }, // not even headers
    { fault: 'malformed' },
  ];
  for (const fault of faults) {
    await withServer(faultsThen([fault], text(full)), async (server, config) => {
      const deltas: string[] = [];
      const res = await createOpenAIClient(config).complete(ask(), { onDelta: (d) => deltas.push(d) });
      assert.equal(res.content, full, fault.fault);
      assert.equal(res.attempts, 2, fault.fault);
      assert.equal(server.requests.length, 2, fault.fault);
    });
  }
});

test('an idle stream fails with idle_timeout once retries run out', async () => {
  await withServer(
    () => ({ fault: 'stall', afterChunks: 1 }),
    async (server, config) => {
      const started = Date.now();
      await rejectsWith(
        createOpenAIClient({ ...config, idleTimeoutMs: 150, maxRetries: 1 }).complete(ask()),
        'idle_timeout',
      );
      assert.equal(server.requests.length, 2);
      assert.ok(Date.now() - started >= 300);
    },
  );
});

test('a 400 is not retried; exhausted retries reject with the reason', async () => {
  await withServer(
    () => text('{}'),
    async (server, config) => {
      const client = createOpenAIClient({ ...config, structuredOutput: 'json_schema' });
      const err = await rejectsWith(
        client.complete({ ...ask(), responseFormat: { name: 'plan', schema: { type: 'object' } } }),
        'bad_request',
      );
      assert.equal(err.status, 400);
      assert.equal(server.requests.length, 1);
    },
    { supportsJsonSchema: false },
  );
  await withServer(
    () => ({ fault: 'server_error', status: 503 }),
    async (server, config) => {
      const err = await rejectsWith(createOpenAIClient({ ...config, maxRetries: 2 }).complete(ask()), 'server_error');
      assert.equal(err.status, 503);
      assert.equal(server.requests.length, 3);
    },
  );
  await withServer(
    () => ({ fault: 'rate_limit' }),
    async (server, config) => {
      await rejectsWith(createOpenAIClient({ ...config, maxRetries: 1 }).complete(ask()), 'rate_limited');
      assert.equal(server.requests.length, 2);
    },
  );
});

test('an unreachable server fails with connection after retries', async () => {
  const server = await createScriptedServer({ responder: () => text('x') });
  const url = server.url;
  await server.close();
  await rejectsWith(
    createOpenAIClient({ baseUrl: url, model: 'm', ...FAST, maxRetries: 1 }).complete(ask()),
    'connection',
  );
});

test('abort rejects promptly with aborted: mid-stream, in back-off and in the semaphore', async () => {
  await withServer(
    () => ({ fault: 'stall', afterChunks: 1 }),
    async (_s, config) => {
      const ctrl = new AbortController();
      setTimeout(() => ctrl.abort(), 100);
      const started = Date.now();
      await rejectsWith(
        createOpenAIClient({ ...config, idleTimeoutMs: 10_000 }).complete(ask(), { signal: ctrl.signal }),
        'aborted',
      );
      assert.ok(Date.now() - started < 1000);
    },
  );
  await withServer(
    () => ({ fault: 'server_error' }),
    async (server, config) => {
      const ctrl = new AbortController();
      const client = createOpenAIClient({ ...config, retryBaseMs: 10_000, retryMaxMs: 10_000 });
      const pending = client.complete(ask(), { signal: ctrl.signal });
      while (server.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
      setTimeout(() => ctrl.abort(), 50);
      const started = Date.now();
      await rejectsWith(pending, 'aborted');
      assert.ok(Date.now() - started < 1000);
      assert.equal(server.requests.length, 1);
    },
  );
  await withServer(
    () => ({ fault: 'stall', afterChunks: 1 }),
    async (server, config) => {
      const client = createOpenAIClient({ ...config, maxConcurrentRequests: 1, idleTimeoutMs: 10_000 });
      const holder = new AbortController();
      const first = client.complete(ask(), { signal: holder.signal });
      const ctrl = new AbortController();
      const queued = client.complete(ask(), { signal: ctrl.signal });
      setTimeout(() => ctrl.abort(), 50);
      await rejectsWith(queued, 'aborted');
      assert.equal(server.requests.length, 1);
      holder.abort();
      await rejectsWith(first, 'aborted');
    },
  );
});

test('json_schema unsupported: falls back to a forced tool, remembered for the next request', async () => {
  const plan = { tasks: [{ id: 'a' }] };
  const format = { name: 'plan', schema: { type: 'object', properties: { tasks: { type: 'array' } } } };
  await withServer(
    () => text(JSON.stringify(plan)),
    async (server, config) => {
      const client = createOpenAIClient(config);
      const res = await client.complete({ ...ask(), responseFormat: format });
      assert.deepEqual(JSON.parse(res.content), plan);
      assert.deepEqual(res.toolCalls, []);
      assert.equal(res.finishReason, 'stop');
      assert.equal(server.requests.length, 2);
      assert.equal(server.requests[0].body.response_format?.type, 'json_schema');
      const second = server.requests[1].body;
      assert.equal(second.response_format, undefined);
      assert.deepEqual(second.tool_choice, { type: 'function', function: { name: 'plan' } });
      assert.deepEqual(second.tools?.[0].function.parameters, format.schema);
      await client.complete({ ...ask(), responseFormat: format });
      assert.equal(server.requests.length, 3);
      assert.equal(server.requests[2].body.response_format, undefined);
    },
    { supportsJsonSchema: false },
  );
});

test('json_schema and tool_choice unsupported: falls back to JSON instructions', async () => {
  const format = { name: 'review', schema: { type: 'object', required: ['verdict'] } };
  await withServer(
    () => text('```json\n{"verdict":"ok"}\n```'),
    async (server, config) => {
      const client = createOpenAIClient(config);
      const res = await client.complete({ ...ask(), responseFormat: format });
      assert.equal(res.content, '{"verdict":"ok"}');
      assert.equal(server.requests.length, 3);
      const last = server.requests[2].body;
      assert.equal(last.tool_choice, undefined);
      assert.equal(last.response_format, undefined);
      assert.equal(last.messages.filter((m) => m.role === 'system').length, 1);
      assert.match(contentText(last.messages[0]), /^sys\n\n[\s\S]*"required":\["verdict"\]/);
      await client.complete({ ...ask(), responseFormat: format });
      assert.equal(server.requests.length, 4);
    },
    { supportsJsonSchema: false, supportsToolChoice: false },
  );
});

test('the semaphore caps requests in flight', async () => {
  await withServer(
    () => ({ content: 'slow answer in pieces', chunkDelayMs: 15 }),
    async (server, config) => {
      const client = createOpenAIClient({ ...config, maxConcurrentRequests: 2 });
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => client.complete(ask(`q${i}`))));
      assert.equal(results.length, 6);
      assert.equal(server.stats.maxInFlight, 2);
      assert.equal(server.requests.length, 6);
    },
  );
});

test('Retry-After also parses HTTP dates; retry-after-ms wins', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');
  assert.equal(parseRetryAfter(new Headers({ 'retry-after': 'Wed, 01 Jan 2025 00:00:03 GMT' }), now), 3000);
  assert.equal(parseRetryAfter(new Headers({ 'retry-after': '2', 'retry-after-ms': '150' }), now), 150);
  assert.equal(parseRetryAfter(new Headers({ 'retry-after': 'soon' }), now), null);
  assert.equal(parseRetryAfter(new Headers(), now), null);
});

test('toolCall helper replies are accepted by the client', async () => {
  await withServer(
    () => toolCall('finish', { summary: 'done' }),
    async (_s, config) => {
      const res = await createOpenAIClient(config).complete(ask());
      assert.deepEqual(
        res.toolCalls.map((c) => [c.name, JSON.parse(c.arguments)]),
        [['finish', { summary: 'done' }]],
      );
    },
  );
});

test('the endpoint recorded in the ledger never carries credentials or a query string', () => {
  assert.equal(publicEndpoint('http://user:secret@gpu-box:8000/v1?api-key=abc'), 'http://gpu-box:8000/v1');
  assert.equal(publicEndpoint('http://127.0.0.1:8000/v1/'), 'http://127.0.0.1:8000/v1');
});

// --- createNodeFetch: the fetch the SDK is given (node:http with keep-alive) ------------------

async function withHttp(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  fn: (url: string, connections: () => number) => Promise<void>,
): Promise<void> {
  let connections = 0;
  const server = createServer(handler);
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    await fn(`http://127.0.0.1:${port}`, () => connections);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

test('nodeFetch: sends method, headers and body; keeps one connection alive; caps sockets', async () => {
  const fetchFn = createNodeFetch({ maxSockets: 2 });
  let inFlight = 0;
  let maxInFlight = 0;
  await withHttp(
    (req, res) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () =>
        setTimeout(() => {
          inFlight--;
          res.setHeader('x-echo', String(req.headers['x-test']));
          res.setHeader('set-cookie', ['a=1', 'b=2']);
          res.end(JSON.stringify({ method: req.method, url: req.url, body, type: req.headers['content-type'] }));
        }, 20),
      );
    },
    async (url, connections) => {
      for (let i = 0; i < 3; i++) {
        const res = await fetchFn(`${url}/v1/x?i=${i}`, {
          method: 'post',
          headers: new Headers({ 'x-test': 'yes', 'content-type': 'application/json' }),
          body: '{"é":1}',
        });
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('x-echo'), 'yes');
        assert.equal(res.url, `${url}/v1/x?i=${i}`);
        assert.deepEqual(await res.json(), {
          method: 'POST',
          url: `/v1/x?i=${i}`,
          body: '{"é":1}',
          type: 'application/json',
        });
      }
      assert.equal(connections(), 1, 'sequential requests share one kept-alive connection');
      const parallel = await Promise.all(Array.from({ length: 6 }, () => fetchFn(url).then((r: Response) => r.text())));
      assert.equal(parallel.length, 6);
      assert.ok(maxInFlight <= 2, `at most maxSockets requests at once, saw ${maxInFlight}`);
    },
  );
  fetchFn.close();
});

test('nodeFetch: the body streams before the response ends, and an abort mid-body errors it with AbortError', async () => {
  const fetchFn = createNodeFetch();
  let ended = false;
  await withHttp(
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
      res.on('close', () => (ended = true));
    },
    async (url) => {
      const controller = new AbortController();
      const res = await fetchFn(url, { signal: controller.signal });
      const reader = res.body!.getReader();
      const first = await reader.read();
      assert.equal(Buffer.from(first.value!).toString(), 'data: first\n\n');
      assert.equal(ended, false, 'the first chunk arrived while the response was still open');
      controller.abort();
      await assert.rejects(reader.read(), (e: Error) => e.name === 'AbortError');
      await assert.rejects(fetchFn(url, { signal: controller.signal }), (e: Error) => e.name === 'AbortError');
    },
  );
  fetchFn.close();
});

test('nodeFetch: gzip is decoded, 204 has no body, a refused connection is a TypeError with the cause', async () => {
  const fetchFn = createNodeFetch();
  let closedUrl = '';
  await withHttp(
    (req, res) => {
      if (req.url === '/empty') return void res.writeHead(204).end();
      res
        .writeHead(500, { 'content-encoding': 'gzip', 'retry-after': '2' })
        .end(gzipSync('{"error":{"message":"boom"}}'));
    },
    async (url) => {
      closedUrl = url;
      const res = await fetchFn(`${url}/zipped`);
      assert.equal(res.status, 500);
      assert.equal(res.headers.get('retry-after'), '2');
      assert.deepEqual(await res.json(), { error: { message: 'boom' } });
      const empty = await fetchFn(`${url}/empty`, { method: 'DELETE' });
      assert.equal(empty.status, 204);
      assert.equal(empty.body, null);
    },
  );
  await assert.rejects(
    fetchFn(`${closedUrl}/gone`),
    (e: Error) => e instanceof TypeError && (e.cause as NodeJS.ErrnoException).code === 'ECONNREFUSED',
  );
  fetchFn.close();
});
