import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CapabilityCache,
  contextWindowOf,
  describeCapabilities,
  probeCapabilities,
} from '../../src/infra/capabilities';
import type { ProbeOutcome, ProbeTarget } from '../../src/infra/capabilities';
import { createOpenAIClient } from '../../src/infra/openaiClient';
import { createScriptedServer } from '../../src/scripted/server';
import type { ScriptedServer, ScriptedServerOptions } from '../../src/scripted/server';
import { text } from '../../src/scripted/scenario';
import { freePort } from './runHarness';

async function probeOf(
  opts: Partial<ScriptedServerOptions>,
): Promise<{ outcome: ProbeOutcome; server: ScriptedServer }> {
  const server = await createScriptedServer({ responder: () => text('ok'), model: 'm', ...opts });
  try {
    return { outcome: await probeCapabilities({ baseUrl: server.url, model: 'm' }), server };
  } finally {
    await server.close();
  }
}

function found(outcome: ProbeOutcome) {
  assert.ok(outcome.ok, outcome.ok ? '' : outcome.message);
  return outcome.capabilities;
}

test('a server with everything: context window from max_model_len, tools, json_schema, usage and cached tokens', async () => {
  const { outcome, server } = await probeOf({ contextWindow: 32768 });
  const c = found(outcome);
  assert.equal(c.listed, true);
  assert.equal(c.contextWindow, 32768);
  assert.equal(c.contextField, 'max_model_len');
  assert.equal(c.toolCalling, true);
  assert.equal(c.jsonSchema, true);
  assert.equal(c.streamUsage, true);
  assert.equal(c.cachedTokens, true);
  assert.equal(server.requests.length, 3, 'three one-token chat requests');
  assert.ok(server.requests.every((r) => r.body.max_tokens === 1));
  assert.match(describeCapabilities(c), /context window: 32,768 tokens \(max_model_len\) · tool calling: yes/);
});

test('each missing capability is found missing, and nothing else', async () => {
  const cases: [Partial<ScriptedServerOptions>, string][] = [
    [{ supportsTools: false }, 'toolCalling'],
    [{ supportsJsonSchema: false }, 'jsonSchema'],
    [{ streamUsage: false }, 'streamUsage'],
    [{ reportCached: false }, 'cachedTokens'],
  ];
  for (const [opts, lacking] of cases) {
    const c = found((await probeOf(opts)).outcome);
    for (const key of ['toolCalling', 'jsonSchema', 'streamUsage', 'cachedTokens'] as const) {
      const expected = key === lacking ? false : key === 'cachedTokens' && lacking === 'streamUsage' ? null : true;
      assert.equal(c[key], expected, `${lacking} server: ${key}`);
    }
    assert.equal(c.contextWindow, null, 'no context window given');
  }
  const c = found((await probeOf({ supportsTools: false })).outcome);
  assert.match(describeCapabilities(c), /tool calling: no \(agents cannot use this model\)/);
});

test('a model the server does not list is said to be unlisted', async () => {
  const server = await createScriptedServer({ responder: () => text('ok'), model: 'other' });
  try {
    const c = found(await probeCapabilities({ baseUrl: server.url, model: 'm' }));
    assert.equal(c.listed, false);
    assert.match(describeCapabilities(c), /^not in the server's model list/);
  } finally {
    await server.close();
  }
});

test('context windows in the other servers’ fields', () => {
  assert.deepEqual(contextWindowOf({ id: 'x', context_length: 131072 }), { tokens: 131072, field: 'context_length' });
  assert.deepEqual(contextWindowOf({ id: 'x', context_window: 8192 }), { tokens: 8192, field: 'context_window' });
  assert.deepEqual(contextWindowOf({ id: 'x', max_context_length: 4096 }), {
    tokens: 4096,
    field: 'max_context_length',
  });
  assert.deepEqual(contextWindowOf({ id: 'x', meta: { n_ctx_train: 2048 } }), {
    tokens: 2048,
    field: 'meta.n_ctx_train',
  });
  assert.equal(contextWindowOf({ id: 'x', max_model_len: 'big' }), null);
});

test('nothing listening: one clear sentence, no stack', async () => {
  const port = await freePort();
  const outcome = await probeCapabilities({ baseUrl: `http://127.0.0.1:${port}/v1`, model: 'm' });
  assert.equal(outcome.ok, false);
  if (outcome.ok) return;
  assert.equal(
    outcome.message,
    `Nothing answers at http://127.0.0.1:${port}/v1 (connection refused: nothing listens there). Is the server running, and is the URL right?`,
  );
  assert.doesNotMatch(outcome.message, /\n|at .*\.js/);
});

test('the cache keeps a probe on disk for its time, and asks again after it or when told', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'foreman-caps-'));
  const server = await createScriptedServer({ responder: () => text('ok'), model: 'm' });
  try {
    const file = join(dir, 'capabilities.json');
    const target: ProbeTarget = { baseUrl: server.url, model: 'm' };
    let probes = 0;
    const counting = (t: ProbeTarget) => {
      probes++;
      return probeCapabilities(t);
    };
    await new CapabilityCache(file, 60_000, counting).get(target);
    assert.equal(probes, 1);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { entries: Record<string, unknown> };
    assert.equal(Object.keys(stored.entries).length, 1);
    // A new process (a new cache) reads the file instead of asking.
    const again = new CapabilityCache(file, 60_000, counting);
    assert.ok((await again.get(target)).ok);
    assert.equal(probes, 1);
    await again.get(target, { fresh: true });
    assert.equal(probes, 2);
    // Past its time the probe is made again.
    await new CapabilityCache(file, 0, counting).get(target);
    assert.equal(probes, 3);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the client adapts to what the probe found: no stream_options, and a forced tool for JSON', async () => {
  const server = await createScriptedServer({
    responder: () => text('{"ok": true}'),
    model: 'm',
    supportsJsonSchema: false,
    streamUsage: false,
  });
  try {
    const c = found(await probeCapabilities({ baseUrl: server.url, model: 'm' }));
    const before = server.requests.length;
    const client = createOpenAIClient({ baseUrl: server.url, model: 'm', capabilities: c });
    const response = await client.complete({
      messages: [{ role: 'user', content: 'Is it ok?' }],
      responseFormat: { name: 'verdict', schema: { type: 'object' } },
    });
    assert.equal(response.content, '{"ok": true}');
    const sent = server.requests.slice(before);
    assert.equal(sent.length, 1, 'no json_schema attempt first: the probe said it is refused');
    assert.equal(sent[0].body.response_format, undefined);
    assert.equal(sent[0].body.stream_options, undefined);
    assert.equal(response.usage.estimated, true, 'usage is estimated where the stream has none');
  } finally {
    await server.close();
  }
});
