/**
 * `foreman backends` on a real repository: what each endpoint can do, probed once and then read
 * from the repository's cache; an endpoint where nothing listens is one sentence and exit 4.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createScriptedServer } from '../../src/scripted/server';
import { text } from '../../src/scripted/scenario';
import { freePort, makeRepo, NODE_TEMPLATE, runCli } from './runHarness';

test('foreman backends: each role’s chain, each endpoint’s capabilities, and a dead endpoint in one sentence', async () => {
  const coder = await createScriptedServer({
    responder: () => text('ok'),
    model: 'coder',
    contextWindow: 32768,
    supportsJsonSchema: false,
  });
  const dead = await freePort();
  const repo = makeRepo({
    files: {
      ...NODE_TEMPLATE,
      'foreman.json': JSON.stringify({
        backends: [
          { name: 'big', baseUrl: `http://127.0.0.1:${dead}/v1`, models: ['large'], router: 'llm-d' },
          { name: 'local', baseUrl: coder.url, models: ['coder'] },
        ],
        roles: { planner: ['large', 'coder'], agent: 'coder' },
      }),
    },
  });
  try {
    const first = await runCli(['backends'], { repo });
    assert.equal(first.code, 4, first.stderr);
    const lines = first.stdout.trim().split('\n');
    assert.deepEqual(lines.slice(0, 3), [
      'Planner: large (big) → coder (local)',
      'Agent: coder (local)',
      'Reviewer: large (big)',
    ]);
    assert.ok(
      lines.includes(
        `  big http://127.0.0.1:${dead}/v1 large [routes itself: llm-d, session hints sent]: Nothing answers at http://127.0.0.1:${dead}/v1 (connection refused: nothing listens there). Is the server running, and is the URL right?`,
      ),
      first.stdout,
    );
    assert.ok(
      lines.includes(
        `  local ${coder.url} coder: context window: 32,768 tokens (max_model_len) · tool calling: yes · json_schema: no (JSON is asked for with a forced tool or instructions) · usage in streams: yes · cached tokens reported: yes · 4 requests at once (the run's concurrency; the server reports no limit)`,
      ),
      first.stdout,
    );
    assert.doesNotMatch(first.stderr, /at .*\.(ts|js):\d+/, 'no stack');
    const asked = coder.requests.length;
    assert.equal(asked, 3);
    // Within the hour the repository's cache answers; --fresh asks again.
    const json = await runCli(['backends', '--json'], { repo });
    assert.equal(coder.requests.length, asked);
    const parsed = JSON.parse(json.stdout) as { endpoints: { name: string; capabilities?: { jsonSchema: boolean } }[] };
    assert.equal(parsed.endpoints.find((e) => e.name === 'local')?.capabilities?.jsonSchema, false);
    await runCli(['backends', '--fresh'], { repo });
    assert.equal(coder.requests.length, asked + 3);
  } finally {
    await coder.close();
    repo.cleanup();
  }
});

test('foreman run over endpoints where nothing answers: one sentence per endpoint, exit 4, nothing planned', async () => {
  const [one, two] = [await freePort(), await freePort()];
  const repo = makeRepo({
    files: {
      ...NODE_TEMPLATE,
      'foreman.json': JSON.stringify({
        backends: [
          { name: 'a', baseUrl: `http://127.0.0.1:${one}/v1`, models: ['m'] },
          { name: 'b', baseUrl: `http://127.0.0.1:${two}/v1`, models: ['m'] },
        ],
      }),
    },
  });
  try {
    const run = await runCli(['run', 'Do something.', '--no-sandbox'], { repo });
    assert.equal(run.code, 4, run.stderr);
    const failed = run.stderr.split('\n').find((l) => l.startsWith('The backend failed: '));
    assert.equal(
      failed,
      `The backend failed: a: Nothing answers at http://127.0.0.1:${one}/v1 (connection refused: nothing listens there). Is the server running, and is the URL right? b: Nothing answers at http://127.0.0.1:${two}/v1 (connection refused: nothing listens there). Is the server running, and is the URL right?`,
    );
    assert.doesNotMatch(run.stderr, /at .*\.(ts|js):\d+|Planning with/);
  } finally {
    repo.cleanup();
  }
});
