/**
 * Back-pressure against the scripted server through the real openai SDK: a 429 (or a 503 with
 * Retry-After) pauses the whole endpoint once, a single probe goes out when the pause ends, and
 * the rest follow it; nothing is lost and an abort leaves a paused wait at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOpenAIClient } from '../../src/infra/openaiClient';
import type { BackendConfig } from '../../src/infra/openaiClient';
import { ModelError } from '../../src/core/model';
import type { ModelRequest } from '../../src/core/model';
import { createScriptedServer } from '../../src/scripted/server';
import type { Fault, Reply, Responder, ScriptedServer } from '../../src/scripted/server';
import { scenarioResponder, text, toolCall } from '../../src/scripted/scenario';
import type { JournalFile } from '../../src/infra/journalFile';
import { createEngine, engineParts, makePlan, makeRepo, rawTask, routeOfBody } from './runHarness';

const AGENTS = 16;
const LIMIT = 8;

const ask = (content: string): ModelRequest => ({
  messages: [
    { role: 'system', content: 'sys' },
    { role: 'user', content },
  ],
});

/** Answers `fault` to every request that arrives within `windowMs` of the first one, then `reply`. */
function windowed(
  fault: Fault,
  windowMs: number,
  reply: Reply = text('ok'),
): { responder: Responder; start: () => number } {
  let start = 0;
  const responder: Responder = () => {
    if (start === 0) start = Date.now();
    return Date.now() - start < windowMs ? fault : reply;
  };
  return { responder, start: () => start };
}

async function withServer(responder: Responder, fn: (server: ScriptedServer, config: BackendConfig) => Promise<void>) {
  const server = await createScriptedServer({ responder });
  try {
    const config = { baseUrl: server.url, model: 'm', retryBaseMs: 500, retryMaxMs: 2_000, maxRetries: 8 };
    await fn(server, config);
  } finally {
    await server.close();
  }
}

const sentWithin = (server: ScriptedServer, start: number, ms: number): number =>
  server.requests.filter((r) => r.receivedAt - start < ms).length;

test('a 3 s window of 429s: the shared pause sends a few probes, agents on their own hammer the server', async () => {
  const windowMs = 3_000;
  const deps = { random: () => 1 }; // back-off without jitter: 500, 1000, 2000 ms
  let shared = 0;
  let unshared = 0;
  const rateLimited = windowed({ fault: 'rate_limit' }, windowMs);
  await withServer(rateLimited.responder, async (server, config) => {
    const client = createOpenAIClient({ ...config, maxConcurrentRequests: LIMIT }, deps);
    const answers = await Promise.all(Array.from({ length: AGENTS }, (_, i) => client.complete(ask(`agent ${i}`))));
    assert.deepEqual(
      answers.map((a) => a.content),
      answers.map(() => 'ok'),
    );
    shared = sentWithin(server, rateLimited.start(), windowMs);
  });
  // The same agents, each reacting on its own (one client apiece, as if nothing were shared).
  const alone = windowed({ fault: 'rate_limit' }, windowMs);
  await withServer(alone.responder, async (server, config) => {
    const answers = await Promise.all(
      Array.from({ length: AGENTS }, (_, i) =>
        createOpenAIClient({ ...config, maxConcurrentRequests: 1 }, deps).complete(ask(`agent ${i}`)),
      ),
    );
    assert.equal(answers.filter((a) => a.content === 'ok').length, AGENTS);
    unshared = sentWithin(server, alone.start(), windowMs);
  });
  // Shared: the first volley (the limit, 8) and probes at 0.5 s and 1.5 s: 10. Alone: 16 × 3 = 48.
  // The client before this change (one gate per client, all waiting requests leaving together) sent 24.
  assert.ok(shared <= 2 * LIMIT, `${shared} requests reached the server during the 429 window`);
  assert.ok(unshared >= 2 * shared, `shared ${shared} against ${unshared} when each agent reacts alone`);
});

test('Retry-After is honoured once for all: one probe when it ends, then everyone, nothing in between', async () => {
  const slowAnswer = { content: 'ok', chunkDelayMs: 50 }; // the probe's answer takes ≥ 150 ms to stream
  const rateLimited = windowed({ fault: 'rate_limit', retryAfterSec: 1 }, 1_000, slowAnswer);
  await withServer(rateLimited.responder, async (server, config) => {
    const client = createOpenAIClient({ ...config, maxConcurrentRequests: AGENTS });
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: AGENTS }, (_, i) => client.complete(ask(`agent ${i}`))));
    const took = Date.now() - started;
    assert.ok(
      answers.every((a) => a.content === 'ok' && a.attempts === 2),
      'each agent is answered on its second try',
    );
    assert.equal(server.requests.length, 2 * AGENTS, 'one 429 and one success per agent, no extra tries');
    const start = rateLimited.start();
    const second = server.requests.slice(AGENTS).map((r) => r.receivedAt - start);
    assert.ok(second[0] >= 1_000, `the probe went out ${second[0]} ms after the first 429`);
    const followed = Math.min(...second.slice(1)) - second[0];
    assert.ok(followed >= 120, `the others went out ${followed} ms after the probe, before its answer`);
    assert.ok(took < 3_000, `the waits stacked: ${took} ms for a single Retry-After of 1 s`);
  });
});

test('a 503 with Retry-After pauses later requests of the endpoint too', async () => {
  const unavailable = windowed({ fault: 'server_error', status: 503, retryAfterSec: 0.6 }, 300);
  await withServer(unavailable.responder, async (server, config) => {
    const client = createOpenAIClient(config);
    const first = client.complete(ask('first'));
    while (server.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 60)); // let the 503 reach the client
    const second = client.complete(ask('second'));
    await Promise.all([first, second]);
    const secondAt = server.requests.find((r) => r.body.messages[1].content === 'second')!.receivedAt;
    assert.ok(secondAt - unavailable.start() >= 550, `second request went out ${secondAt - unavailable.start()} ms in`);
    assert.equal(server.requests.length, 3);
  });
});

test('a request aborted while the endpoint is paused leaves at once and is never sent', async () => {
  await withServer(
    () => ({ fault: 'rate_limit', retryAfterSec: 5 }),
    async (server, config) => {
      const client = createOpenAIClient(config);
      const first = new AbortController();
      const limited = client.complete(ask('first'), { signal: first.signal });
      while (server.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 60)); // the 429 has paused the endpoint
      const waiting = new AbortController();
      const started = Date.now();
      const paused = client.complete(ask('second'), { signal: waiting.signal });
      setTimeout(() => waiting.abort(), 100);
      await assert.rejects(paused, (e: unknown) => ModelError.is(e) && e.reason === 'aborted');
      const left = Date.now() - started;
      assert.ok(left < 1_000, `the aborted request left after ${left} ms`);
      first.abort();
      await assert.rejects(limited, (e: unknown) => ModelError.is(e) && e.reason === 'aborted');
      assert.equal(server.requests.length, 1, 'only the first request reached the server');
    },
  );
});

test('a request aborted while the probe is out leaves at once; the probe carries on', async () => {
  const slowAnswer = { content: 'ok', chunkDelayMs: 200 }; // the probe's answer takes ≥ 600 ms
  const limited = windowed({ fault: 'rate_limit', retryAfterSec: 0.3 }, 100, slowAnswer);
  await withServer(limited.responder, async (server, config) => {
    const client = createOpenAIClient(config);
    const first = client.complete(ask('first')); // its 429 pauses the endpoint; it is first in line to probe
    while (server.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 60));
    const waiting = new AbortController();
    const second = client.complete(ask('second'), { signal: waiting.signal });
    while (server.requests.length < 2) await new Promise((r) => setTimeout(r, 5)); // the probe is out
    const abortedAt = Date.now();
    waiting.abort();
    await assert.rejects(second, (e: unknown) => ModelError.is(e) && e.reason === 'aborted');
    assert.ok(Date.now() - abortedAt < 300, `the waiting request left ${Date.now() - abortedAt} ms after its abort`);
    assert.equal((await first).content, 'ok');
    assert.deepEqual(
      server.requests.map((r) => r.body.messages[1].content),
      ['first', 'first'],
    );
  });
});

test('16 agents of a run through a 3 s window of 429s all finish, and the backend sees a few requests in it', async () => {
  const windowMs = 3_000;
  const ids = Array.from({ length: AGENTS }, (_, i) => `t${i}`);
  const scripted = scenarioResponder({
    agents: Object.fromEntries(
      ids.map((id) => [
        id,
        [toolCall('write_file', { path: `${id}.txt`, content: `${id}\n` }), toolCall('finish', { summary: 'done' })],
      ]),
    ),
  });
  let start = 0;
  const server = await createScriptedServer({
    responder: (request, ctx) => {
      if (routeOfBody(request).role !== 'agent') return scripted(request, ctx);
      if (start === 0) start = Date.now();
      return Date.now() - start < windowMs ? { fault: 'rate_limit' } : scripted(request, ctx);
    },
  });
  const repo = makeRepo();
  try {
    const parts = await engineParts(repo, server, {
      flags: { concurrency: AGENTS, maxRequests: LIMIT, review: false },
      backend: { retryBaseMs: 500, retryMaxMs: 2_000 },
    });
    try {
      const plan = makePlan(
        'Sixteen files',
        ids.map((id) => rawTask(id, { files: [`${id}.txt`] })),
      );
      const state = await (await createEngine(parts, plan)).run();
      assert.equal(state.status, 'completed', state.message ?? '');
      assert.deepEqual(
        ids.map((id) => state.tasks.get(id)?.status),
        ids.map(() => 'merged'),
      );
    } finally {
      (parts.deps.journal as JournalFile).close();
    }
    const inWindow = server.requests.filter((r) => r.receivedAt - start < windowMs).length;
    // Measured: 5 (agents start as their worktrees are ready); the per-client gate before this sent 25.
    assert.ok(inWindow <= 2 * LIMIT, `${inWindow} requests reached the backend during the 429 window`);
  } finally {
    await server.close();
    repo.cleanup();
  }
});
