/**
 * Replica pools and role chains over real clients (the openai SDK) and scripted servers: a
 * conversation stays on one replica, new ones go to the least loaded, a replica that dies is taken
 * out and its conversations move, and it takes new ones again once it answers after its back-off;
 * a role falls back along its chain and says so; a model without tool calling is skipped for
 * requests with tools; Dynamo and llm-d endpoints get their session hints; a replica whose
 * server's queue is long (its /metrics, read by a real backend watch) gets no new conversations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ModelRequest } from '../../src/core/model';
import { QueueReadings, ReplicaPool, RoleClient } from '../../src/infra/modelRouter';
import { createBackendWatch } from '../../src/infra/backendTelemetry';
import { SimulatedGpu } from '../../src/scripted/gpu';
import type { Replica, RouterOptions } from '../../src/infra/modelRouter';
import { createOpenAIClient, publicEndpoint } from '../../src/infra/openaiClient';
import type { BackendConfig } from '../../src/infra/openaiClient';
import { createScriptedServer } from '../../src/scripted/server';
import type { ScriptedServer } from '../../src/scripted/server';
import { text } from '../../src/scripted/scenario';
import { freePort } from './runHarness';

const FAST: Partial<BackendConfig> = { retryBaseMs: 5, retryMaxMs: 20, maxRetries: 1, requestTimeoutMs: 5000 };

function server(port = 0, delayMs = 0): Promise<ScriptedServer> {
  return createScriptedServer({ responder: () => ({ content: 'ok', chunkDelayMs: delayMs }), model: 'm', port });
}

function replica(name: string, s: { url: string }, over: Partial<BackendConfig> = {}): Replica {
  return { name, client: createOpenAIClient({ baseUrl: s.url, model: 'm', ...FAST, ...over }) };
}

/** A growing conversation: the request for its step `step`. */
function step(conv: string, step: number, tools = false): ModelRequest {
  const messages: ModelRequest['messages'] = [{ role: 'user', content: `conversation ${conv}` }];
  for (let k = 0; k < step; k++) messages.push({ role: 'assistant', content: `step ${k}` });
  return tools
    ? { messages, tools: [{ name: 'finish', description: 'Finish.', parameters: { type: 'object' } }] }
    : { messages };
}

/** The conversations each server saw, by the first message. */
function conversationsAt(s: ScriptedServer): Set<string> {
  return new Set(
    s.requests.map((r) => {
      const first = r.body.messages[0].content;
      return typeof first === 'string' ? first : '';
    }),
  );
}

test('each conversation stays on one replica, and new conversations spread over the least loaded', async () => {
  const servers = await Promise.all([server(0, 2), server(0, 2), server(0, 2)]);
  try {
    const pool = new ReplicaPool(
      'm',
      servers.map((s, i) => replica(`r${i}`, s)),
    );
    const convs = ['a', 'b', 'c', 'd', 'e', 'f'];
    // Every conversation starts at once; then their next steps come one at a time, so the least
    // loaded replica is always the first one: only affinity keeps a conversation where it began.
    await Promise.all(convs.map((c) => pool.complete(step(c, 0), { affinity: c })));
    for (const c of convs) for (let k = 1; k < 4; k++) await pool.complete(step(c, k), { affinity: c });
    const seen = servers.map(conversationsAt);
    for (const c of convs) {
      const holders = seen.filter((set) => set.has(`conversation ${c}`));
      assert.equal(holders.length, 1, `conversation ${c} went to ${holders.length} replicas`);
    }
    assert.deepEqual(
      seen.map((set) => set.size),
      [2, 2, 2],
      'six new conversations over three idle replicas',
    );
    assert.equal(pool.holder('a') !== null, true);
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
});

test('round-robin (kept for comparison) spreads each conversation over the replicas', async () => {
  const servers = await Promise.all([server(), server()]);
  try {
    const pool = new ReplicaPool(
      'm',
      servers.map((s, i) => replica(`r${i}`, s)),
      { balance: 'round-robin' },
    );
    for (let k = 0; k < 4; k++) await pool.complete(step('a', k), { affinity: 'a' });
    assert.deepEqual(
      servers.map((s) => s.requests.length),
      [2, 2],
    );
  } finally {
    await Promise.all(servers.map((s) => s.close()));
  }
});

test('a replica that dies is taken out, its conversations move, and it is taken back after its back-off', async () => {
  const portA = await freePort();
  let a = await server(portA);
  const b = await server();
  const notices: string[] = [];
  const options: RouterOptions = { backoffMs: 300, onNotice: (t) => notices.push(t) };
  try {
    const pool = new ReplicaPool('m', [replica('A', a), replica('B', b)], options);
    for (const c of ['w', 'x', 'y', 'z']) await pool.complete(step(c, 0), { affinity: c });
    const onA = ['w', 'x', 'y', 'z'].filter((c) => pool.holder(c) === 'A');
    assert.equal(onA.length, 2, 'two conversations each');
    await a.close();
    for (const c of ['w', 'x', 'y', 'z']) {
      const response = await pool.complete(step(c, 1), { affinity: c });
      assert.equal(response.route?.endpoint, b.url.replace(/\/$/, ''), `conversation ${c} answered by B`);
      assert.equal(pool.holder(c), 'B');
    }
    assert.equal(
      notices.filter((n) => /^Replica A .* is taken out for 300 ms after a connection failure/.test(n)).length,
      1,
    );
    for (const c of onA)
      assert.ok(
        notices.some((n) => n.startsWith(`Task ${c} moved from A to B`)),
        notices.join('\n'),
      );
    assert.equal(pool.loads().find((l) => l.name === 'A')?.down, true);
    // Back on the same port; after the back-off the next new conversation goes to A (it holds none).
    a = await server(portA);
    await new Promise((r) => setTimeout(r, 350));
    await pool.complete(step('new', 0), { affinity: 'new' });
    assert.equal(pool.holder('new'), 'A');
    assert.ok(
      notices.some((n) => /^Replica A .* answers again and takes new tasks/.test(n)),
      notices.join('\n'),
    );
  } finally {
    await a.close();
    await b.close();
  }
});

test('a role falls back along its chain when its first model is down, says so once, and skips it for a while', async () => {
  const small = await createScriptedServer({ responder: () => text('ok'), model: 'small' });
  const deadPort = await freePort();
  const notices: string[] = [];
  try {
    const big = new ReplicaPool('big', [
      {
        name: 'gpu',
        client: createOpenAIClient({ baseUrl: `http://127.0.0.1:${deadPort}/v1`, model: 'big', ...FAST }),
      },
    ]);
    const fallback = new ReplicaPool('small', [
      { name: 'local', client: createOpenAIClient({ baseUrl: small.url, model: 'small', ...FAST }) },
    ]);
    const planner = new RoleClient('planner', [big, fallback], { backoffMs: 60_000, onNotice: (t) => notices.push(t) });
    const first = await planner.complete(step('p', 0));
    assert.equal(first.route?.model, 'small');
    assert.equal(first.route?.endpoint, small.url);
    const second = await planner.complete(step('p', 1));
    assert.equal(second.route?.model, 'small');
    assert.equal(notices.length, 1, notices.join('\n'));
    assert.match(notices[0], /^The planner's model big failed \(connection: could not reach .*\); using small instead/);
    assert.equal(small.requests.length, 2);
  } finally {
    await small.close();
  }
});

test('an error of the conversation itself is not a reason to fall back', async () => {
  const other = await createScriptedServer({ responder: () => text('ok'), model: 'n' });
  try {
    // A context-length refusal (400) from the first model is the conversation's: it is not sent elsewhere.
    const refusing = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: "This model's maximum context length is 8192 tokens" } }));
      });
    });
    await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}/v1`;
    const agent = new RoleClient('agent', [
      new ReplicaPool('m', [{ name: 'a', client: createOpenAIClient({ baseUrl: url, model: 'm', ...FAST }) }]),
      new ReplicaPool('n', [{ name: 'b', client: createOpenAIClient({ baseUrl: other.url, model: 'n', ...FAST }) }]),
    ]);
    await assert.rejects(agent.complete(step('c', 0)), /maximum context length/);
    assert.equal(other.requests.length, 0);
    await new Promise<void>((r) => refusing.close(() => r()));
  } finally {
    await other.close();
  }
});

test('a model found without tool calling is skipped for requests with tools, and used for the rest', async () => {
  const plain = await createScriptedServer({ responder: () => text('{}'), model: 'plain', supportsTools: false });
  const coder = await createScriptedServer({ responder: () => text('ok'), model: 'coder' });
  try {
    const agent = new RoleClient('agent', [
      new ReplicaPool('plain', [
        { name: 'p', client: createOpenAIClient({ baseUrl: plain.url, model: 'plain' }), toolCalling: false },
      ]),
      new ReplicaPool('coder', [{ name: 'c', client: createOpenAIClient({ baseUrl: coder.url, model: 'coder' }) }]),
    ]);
    assert.equal((await agent.complete(step('t', 0, true))).route?.model, 'coder');
    assert.equal(plain.requests.length, 0, 'never asked with tools');
    assert.equal((await agent.complete(step('t', 0))).route?.model, 'plain');
  } finally {
    await plain.close();
    await coder.close();
  }
});

test('a Dynamo endpoint gets one stable X-Dynamo-Session-ID per conversation', async () => {
  const s = await server();
  try {
    const client = createOpenAIClient({ baseUrl: s.url, model: 'm', router: 'dynamo' });
    for (const c of ['a', 'b', 'a']) await client.complete(step(c, 0), { affinity: c });
    await client.complete(step('none', 0));
    const ids = s.requests.map((r) => r.headers['x-dynamo-session-id']);
    assert.match(ids[0] ?? '', /^foreman-[0-9a-f]{8}-a$/);
    assert.equal(ids[2], ids[0]);
    assert.notEqual(ids[1], ids[0]);
    assert.equal(ids[3], undefined, 'no session without a conversation');
  } finally {
    await s.close();
  }
});

test('an llm-d endpoint gets its session cookie back with the same conversation only', async () => {
  const cookies: (string | undefined)[] = [];
  let n = 0;
  const gateway = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      cookies.push(req.headers.cookie);
      const pod = Buffer.from(`default/pod-${n++ % 2}`).toString('base64');
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'set-cookie': `llm-d-session=${pod}; Path=/; HttpOnly; SameSite=Lax`,
      });
      const chunk = {
        id: 'c',
        object: 'chat.completion.chunk',
        created: 0,
        model: 'm',
        choices: [{ index: 0, delta: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
      };
      res.end(`data: ${JSON.stringify(chunk)}\n\ndata: [DONE]\n\n`);
    });
  });
  await new Promise<void>((r) => gateway.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/v1`;
    const client = createOpenAIClient({ baseUrl: url, model: 'm', router: 'llm-d' });
    await client.complete(step('a', 0), { affinity: 'a' }); // answered by pod-0
    await client.complete(step('b', 0), { affinity: 'b' }); // pod-1
    await client.complete(step('a', 1), { affinity: 'a' });
    await client.complete(step('b', 1), { affinity: 'b' });
    const pod = (k: number) => `llm-d-session=${Buffer.from(`default/pod-${k}`).toString('base64')}`;
    assert.deepEqual(cookies, [undefined, undefined, pod(0), pod(1)]);
  } finally {
    await new Promise<void>((r) => gateway.close(() => r()));
  }
});

test(
  "a new conversation avoids a replica whose server's queue is long, as its /metrics say",
  { timeout: 60_000 },
  async () => {
    // The busy replica's simulated GPU runs 2 requests at once and has 8 of someone else's queued
    // ahead (about 17 s of work); the other replica is idle. Neither has any of Foreman's in flight.
    const gpu = new SimulatedGpu({ slots: 2 });
    for (let i = 0; i < 8; i++) void gpu.generate(10, 0, 1000);
    const busy = await createScriptedServer({ responder: () => text('ok'), model: 'm', gpu });
    const idle = await server();
    const queues = new QueueReadings();
    const metricsOf = (s: ScriptedServer) => `${new URL(s.url).origin}/metrics`;
    const targets = [busy, idle].map((s) => ({
      endpoint: publicEndpoint(s.url),
      metricsUrl: metricsOf(s),
      energy: null,
    }));
    const watching = createBackendWatch(targets, { intervalMs: 200, queues }).start(() => {});
    try {
      while (queues.waiting(publicEndpoint(busy.url)) === null) await new Promise((r) => setTimeout(r, 50));
      assert.equal(
        queues.waiting(publicEndpoint(busy.url)),
        6,
        "the busy server's queue, from its vllm:num_requests_waiting",
      );
      const pool = new ReplicaPool('m', [replica('busy', busy), replica('idle', idle)], { load: queues });
      // One at a time, so Foreman's own in-flight count is 0 on both at every choice: only the
      // server's queue tells them apart (without it, the tie-break alternates: checked by hand).
      for (const c of ['a', 'b', 'c', 'd']) await pool.complete(step(c, 0), { affinity: c });
      assert.equal(busy.requests.length, 0, 'nothing was sent to the replica with the long queue');
      assert.equal(idle.requests.length, 4);
    } finally {
      await watching.stop();
      await Promise.all([busy.close(), idle.close()]);
      gpu.close();
    }
  },
);
