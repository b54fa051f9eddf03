/**
 * The Lead panel's figures for a run started on the command line: the panel's Resume goes on with
 * the run's own budget and prices (the panel's backend has no prices and its options no budget),
 * a budget raised with the resume is recorded and said, costs stay priced, and tokens/s is the
 * same figure as the CLI's (src/core/throughput.ts) with a chart that shows the run's output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ledger } from '../../src/core/ledger';
import type { Reply } from '../../src/scripted/server';
import { toolCall } from '../../src/scripted/scenario';
import type { Scenario } from '../../src/scripted/scenario';
import { latestRunId, makeRepo, planReply, rawTask, readRun, requestsFor, runCli, startServer } from './runHarness';
import { serverBackend, session, settledRun, state, testHost, testSettings, until } from './leadHarness';

/** 900 in, 100 out per step; each answer streamed in chunks 15 ms apart, so its generation is timed. */
const STEP = { usage: { prompt: 900, completion: 100 }, chunkDelayMs: 15 };

function writer(files: string[]): Reply[] {
  return [
    ...files.map((f) => ({ ...toolCall('write_file', { path: f, content: `${f}\n` }), ...STEP })),
    { ...toolCall('finish', { summary: `wrote ${files.join(', ')}` }), ...STEP },
  ];
}

const SCENARIO: Scenario = {
  planner: [
    {
      ...planReply([rawTask('a', { files: ['a1.txt'] }), rawTask('b', { files: ['b1.txt'], dependsOn: ['a'] })]),
      usage: { prompt: 10, completion: 10 },
      chunkDelayMs: 15,
    },
  ],
  agents: { a: writer(['a1.txt', 'a2.txt']), b: writer(['b1.txt', 'b2.txt']) },
};

/** The CLI's tok/s cell of the TOTAL row of `foreman status`. */
function cliTotalRate(stdout: string): string {
  const row = stdout.split('\n').find((l) => l.startsWith('TOTAL (run)'));
  assert.ok(row, stdout);
  // task, status, verification, (steps empty), in, cached, out, tok/s, cost, time
  const cells = row.replace('TOTAL (run)', '').trim().split(/\s+/);
  return cells[cells.length - 3];
}

test(
  "the panel resumes a CLI run with the run's budget and prices; tokens/s and the chart match the CLI",
  { timeout: 120_000 },
  async () => {
    const repo = makeRepo();
    const server = await startServer(SCENARIO);
    const flags = ['--no-review', '--check', 'ok=node -e 0', '--concurrency', '1'];
    try {
      const cli = await runCli(['run', 'Two files.', '--budget-tokens', '3050', '--price', '1,1,1', ...flags], {
        repo,
        server,
      });
      assert.equal(cli.code, 3, cli.stderr);
      const runId = await latestRunId(repo);

      const host = testHost(repo.root, testSettings(repo, { backends: [serverBackend(server.url)] }));
      const s = await session(host);
      try {
        await s.handle({ type: 'run/open', runId });
        let run = state(s).run!;
        let ledger = Ledger.fromEvents((await readRun(repo, runId)).events);
        const figure = ledger.tokensPerSecond();
        assert.ok(figure !== null && figure > 0, 'the paced answers were timed');
        assert.equal(run.tokensPerSecond, Math.round(figure * 10) / 10, "the run's figure, as the CLI has it");
        assert.equal(run.tokensPerSecond?.toFixed(1), cliTotalRate((await runCli(['status', runId], { repo })).stdout));
        assert.ok(run.rate.length >= 2 && run.rate.some((r) => r > 0), `a chart with output: ${run.rate.join(',')}`);
        assert.equal(run.usage.unpriced, false);
        assert.ok(Math.abs((run.usage.cost ?? 0) - 0.00402) < 1e-12);

        // Resume as it is: the run's 3050-token budget holds, though the panel's options have none.
        const before = requestsFor(server, 'agent').length;
        await s.handle({ type: 'run/resume', runId });
        run = await settledRun(s);
        assert.equal(run.status, 'budget');
        assert.equal(requestsFor(server, 'agent').length, before, 'no request past the budget');

        // Raised with the resume: recorded, said, and priced at the run's price to the end.
        await s.handle({ type: 'run/resume', runId, budgets: { tokens: 20000 } });
        await until(s, 'the change to be said', (st) =>
          st.notices.some((n) =>
            n.text.includes(`Run ${runId} goes on with changed settings: run token budget: 3050 → 20000`),
          ),
        );
        run = await settledRun(s);
        assert.equal(run.status, 'completed');
        const { events, state: folded } = await readRun(repo, runId);
        assert.equal(events.filter((e) => e.type === 'settings_changed').length, 1);
        assert.equal(folded.settings?.budgets.runTokens, 20000);
        assert.equal(run.usage.unpriced, false, 'requests after the resume were priced with the run price');
        assert.ok(Math.abs((run.usage.cost ?? 0) - 0.00602) < 1e-12, `cost ${run.usage.cost}`);
        assert.equal(run.budget.cost, null);
        assert.deepEqual(run.budget.tokens, { used: 6020, limit: 20000 });

        ledger = Ledger.fromEvents(events);
        const after = ledger.tokensPerSecond();
        assert.ok(after !== null);
        assert.equal(run.tokensPerSecond, Math.round(after * 10) / 10);
        assert.equal(run.tokensPerSecond?.toFixed(1), cliTotalRate((await runCli(['status', runId], { repo })).stdout));
        assert.ok(
          run.rate.some((r) => r > 0),
          'the finished run still shows its output in the chart',
        );
        for (const row of run.tasks) assert.ok(row.tokensPerSecond !== null && row.tokensPerSecond > 0, row.id);
      } finally {
        await s.dispose();
      }
    } finally {
      await server.close();
      repo.cleanup();
    }
  },
);
