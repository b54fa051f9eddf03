/**
 * A run goes on with its own settings (a real `foreman` child process, the scripted server over
 * HTTP, a real repository). Resumed with the command Foreman printed, a budget-stopped run stops
 * again at its budget instead of running on; a budget raised on the command line is recorded in
 * the journal and said; requests after a resume or an accept are priced with the run's prices,
 * with no --price and not even a backend in the environment; and a total with unpriced requests
 * says so.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JournalEvent } from '../../src/core/journal';
import type { Reply } from '../../src/scripted/server';
import { toolCall } from '../../src/scripted/scenario';
import type { Scenario } from '../../src/scripted/scenario';
import { latestRunId, makeRepo, planReply, rawTask, readRun, requestsFor, runCli, startServer } from './runHarness';

/** Every agent step costs exactly 1000 tokens (900 in, 100 out); the planner 20. */
const STEP_USAGE = { prompt: 900, completion: 100 };
const FLAGS = ['--no-review', '--check', 'ok=node -e 0', '--concurrency', '1'];

function writer(files: string[]): Reply[] {
  return [
    ...files.map((f) => ({ ...toolCall('write_file', { path: f, content: `${f}\n` }), usage: STEP_USAGE })),
    { ...toolCall('finish', { summary: `wrote ${files.join(', ')}` }), usage: STEP_USAGE },
  ];
}

const SCENARIO: Scenario = {
  planner: [
    {
      ...planReply([rawTask('a', { files: ['a1.txt'] }), rawTask('b', { files: ['b1.txt'], dependsOn: ['a'] })]),
      usage: { prompt: 10, completion: 10 },
    },
  ],
  agents: { a: writer(['a1.txt', 'a2.txt']), b: writer(['b1.txt', 'b2.txt']) },
};

type ModelRequestEvent = Extract<JournalEvent, { type: 'model_request' }>;
const requests = (events: JournalEvent[]) => events.filter((e): e is ModelRequestEvent => e.type === 'model_request');

test(
  'a budget-stopped run resumed as printed stops again; a raised budget is recorded and the run is priced throughout',
  { timeout: 90_000 },
  async () => {
    const repo = makeRepo();
    const server = await startServer(SCENARIO);
    try {
      // 1 per million tokens: a step costs 0.001. a takes 3020 with the planner; b's first step goes over.
      const first = await runCli(['run', 'Two files.', '--budget-tokens', '3050', '--price', '1,1,1', ...FLAGS], {
        repo,
        server,
      });
      assert.equal(first.code, 3, first.stderr);
      const runId = await latestRunId(repo);
      assert.match(first.stdout, new RegExp(`foreman run --resume ${runId} --budget-tokens N`));
      const afterFirst = requestsFor(server, 'agent').length;

      // The printed command, with no backend in the environment: the run's own backend, model,
      // budget and prices. It stops again at once, without a single request.
      const again = await runCli(['run', '--resume', runId, ...FLAGS], { repo });
      assert.equal(again.code, 3, again.stderr);
      assert.match(again.stderr, /Settings of the run: model foreman-test-model at http:\/\/127\.0\.0\.1:\d+\/v1/);
      assert.match(again.stderr, /run token budget 3050/);
      assert.match(
        again.stderr,
        /It stopped at its run token budget and goes on with the same budget, so it stops there again; raise it with --budget-tokens N/,
      );
      assert.equal(requestsFor(server, 'agent').length, afterFirst, 'no request went past the budget');
      let { state, events } = await readRun(repo, runId);
      assert.equal(state.status, 'budget');
      assert.deepEqual(state.settingsChanges, []);

      // Raised explicitly: recorded in the journal, printed, and the run finishes.
      const raised = await runCli(['run', '--resume', runId, '--budget-tokens', '20000', ...FLAGS], { repo });
      assert.equal(raised.code, 0, raised.stderr);
      assert.match(raised.stderr, /Changed for this run \(recorded in its journal\): run token budget: 3050 → 20000\./);
      assert.match(raised.stdout, /Settings changed after the start:\n {2}run token budget: 3050 → 20000/);
      ({ state, events } = await readRun(repo, runId));
      assert.equal(state.status, 'completed');
      const changed = events.filter((e) => e.type === 'settings_changed');
      assert.equal(changed.length, 1);
      assert.equal(state.settings?.budgets.runTokens, 20000);

      // Priced with the run's price from start to end: 6 agent steps and the planner, 6020 tokens.
      const booked = requests(events);
      assert.ok(
        booked.every((r) => r.cost !== null),
        'a request after the resume went unpriced',
      );
      assert.equal(state.usage.input + state.usage.output, 6020);
      assert.equal(state.usage.unpriced, 0);
      assert.ok(Math.abs((state.usage.cost ?? 0) - 0.00602) < 1e-12, `cost ${state.usage.cost}`);
      const status = await runCli(['status', runId], { repo });
      assert.match(status.stdout, /TOTAL \(run\) .* \$0\.0060 /);
      assert.doesNotMatch(status.stdout, /unpriced/);
    } finally {
      await server.close();
      repo.cleanup();
    }
  },
);

test(
  'after accept, new requests are priced with the run price; a price given later leaves the earlier part unpriced, and totals say so',
  { timeout: 90_000 },
  async () => {
    const repo = makeRepo();
    const server = await startServer(SCENARIO);
    try {
      // Held for review, priced at 1 per million; accepting a starts b, which depends on it.
      const held = await runCli(['run', 'Two files.', '--hold', '--price', '1,1,1', ...FLAGS], { repo, server });
      assert.equal(held.code, 6, held.stderr);
      const runId = await latestRunId(repo);
      const accepted = await runCli(['accept', runId, 'a', ...FLAGS], { repo });
      assert.equal(accepted.code, 6, accepted.stderr);
      const { state, events } = await readRun(repo, runId);
      assert.equal(state.tasks.get('b')?.status, 'verified', 'b ran after the accept');
      assert.equal(requests(events).filter((r) => r.taskId === 'b').length, 3);
      assert.ok(requests(events).every((r) => r.cost !== null));
      assert.ok(Math.abs((state.usage.cost ?? 0) - 0.00602) < 1e-12, `cost ${state.usage.cost}`);

      // A run started without a price, then given one on resume: the total covers the priced part only.
      const other = makeRepo();
      try {
        const unpricedRun = await runCli(['run', 'Two files.', '--budget-tokens', '3050', ...FLAGS], {
          repo: other,
          server,
        });
        assert.equal(unpricedRun.code, 3, unpricedRun.stderr);
        assert.match(unpricedRun.stdout, /TOTAL \(run\) .* unpriced /);
        assert.match(unpricedRun.stdout, /No cost is known: 5 requests had no price/);
        const otherId = await latestRunId(other);
        const priced = await runCli(
          ['run', '--resume', otherId, '--price', '1,1,1', '--budget-tokens', '20000', ...FLAGS],
          { repo: other },
        );
        assert.equal(priced.code, 0, priced.stderr);
        assert.match(
          priced.stderr,
          /price of foreman-test-model: none → 1 in, 1 cached, 1 out per million tokens; run token budget: 3050 → 20000/,
        );
        const status = await runCli(['status', otherId], { repo: other });
        assert.match(status.stdout, /TOTAL \(run\) .* \$0\.0020 \+ unpriced /);
        assert.match(status.stdout, /The cost covers only priced requests: 5 requests had no price/);
        const after = await readRun(other, otherId);
        assert.equal(after.state.usage.unpriced, 5);
        const json = JSON.parse((await runCli(['status', otherId, '--json'], { repo: other })).stdout) as {
          usage: { cost: number; unpriced: number };
        };
        assert.equal(json.usage.unpriced, 5, 'the JSON export says how many requests had no price');
      } finally {
        other.cleanup();
      }
    } finally {
      await server.close();
      repo.cleanup();
    }
  },
);
