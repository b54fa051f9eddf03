// Runs at a scale the defaults used to cap: a plan file over 50 tasks with --max-tasks, and as many
// requests in flight at once as the run has agents (the backend's limit defaults to the run's
// concurrency; --max-requests sets it). Real CLI, real git, the scripted server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toolCall } from '../../src/scripted/scenario';
import { latestRunId, makeRepo, rawTask, readRun, runCli, startServer } from './runHarness';
import type { ServerOptions } from './runHarness';

const FLAGS = ['--no-review', '--no-checks'];

function writePlan(dir: string, count: number): string {
  const tasks = Array.from({ length: count }, (_, i) => rawTask(`t${i}`, { files: [`f${i}.txt`] }));
  const file = join(dir, '..', `plan-${count}.json`);
  writeFileSync(file, JSON.stringify({ version: 1, spec: 'Many files.', tasks }, null, 2));
  return file;
}

test('foreman run --plan honours --max-tasks for a plan file over 50 tasks', { timeout: 60_000 }, async () => {
  const repo = makeRepo();
  const server = await startServer({});
  try {
    const plan = writePlan(repo.root, 60);
    const refused = await runCli(['run', '--plan', plan, ...FLAGS], { repo, server });
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /The plan has 60 tasks but at most 50 are allowed/);
    // Accepted with --max-tasks; a token budget of 1 stops it before any agent works.
    const accepted = await runCli(['run', '--plan', plan, '--max-tasks', '60', '--budget-tokens', '1', ...FLAGS], {
      repo,
      server,
    });
    assert.doesNotMatch(accepted.stderr, /at most 50/);
    const run = await readRun(repo, await latestRunId(repo));
    assert.equal(run.state.plan?.tasks.length, 60);
  } finally {
    await server.close();
    repo.cleanup();
  }
});

/**
 * Ten tasks whose first agent requests wait at the server until `want` are in flight at once (or
 * 3 s passed), then all finish.
 */
async function inFlightRun(want: number, extra: string[], published: ServerOptions['publishedLimit'] = null) {
  const repo = makeRepo();
  let waiting: (() => void)[] = [];
  let inFlight = 0;
  const server = await startServer(
    {
      defaultAgent: [toolCall('write_file', { path: 'x.txt', content: 'x\n' }), toolCall('finish', { summary: 'ok' })],
    },
    {
      publishedLimit: published,
      gate: async (route) => {
        if (route.role !== 'agent' || route.step !== 0) return;
        inFlight++;
        if (inFlight >= want) {
          for (const release of waiting) release();
          waiting = [];
          return;
        }
        await new Promise<void>((resolve) => {
          waiting.push(resolve);
          setTimeout(resolve, 3000);
        });
      },
    },
  );
  try {
    const plan = writePlan(repo.root, 10);
    const r = await runCli(['run', '--plan', plan, '--concurrency', '10', ...extra, ...FLAGS], { repo, server });
    assert.equal(r.code, 0, r.stderr);
    return { stderr: r.stderr, maxInFlight: server.stats.maxInFlight };
  } finally {
    await server.close();
    repo.cleanup();
  }
}

test(
  'the backend gets as many requests at once as the run has agents, or --max-requests',
  { timeout: 120_000 },
  async () => {
    const all = await inFlightRun(10, []);
    assert.equal(all.maxInFlight, 10, 'ten agents, ten requests in flight (the old fixed limit was 8)');
    assert.match(
      all.stderr,
      /up to 10 at once \(10 requests at once to the backend, the run's concurrency; the server reports no limit\)/,
    );
    const three = await inFlightRun(10, ['--max-requests', '3']);
    assert.equal(three.maxInFlight, 3);
    assert.match(three.stderr, /\(3 requests at once to the backend, as the settings say\)/);
  },
);

test(
  "a server that publishes its own limit (llama.cpp's total_slots) gets that many requests at once, unless --max-requests says otherwise",
  { timeout: 120_000 },
  async () => {
    const four = await inFlightRun(10, [], { as: 'llama.cpp', requests: 4 });
    assert.equal(four.maxInFlight, 4, 'the four slots the server has, not the ten agents');
    assert.match(
      four.stderr,
      /\(4 requests at once to the backend, as the server reports: total_slots of llama\.cpp's \/props\)/,
    );
    const six = await inFlightRun(10, ['--max-requests', '6'], { as: 'sglang', requests: 4 });
    assert.equal(six.maxInFlight, 6, "the user's limit wins over the server's");
    assert.match(six.stderr, /\(6 requests at once to the backend, as the settings say\)/);
  },
);

test('a task being checked or waiting for its merge holds no agent slot', { timeout: 90_000 }, async () => {
  const repo = makeRepo();
  const write = (id: string) => [
    toolCall('write_file', { path: `${id}.txt`, content: `${id}\n` }),
    toolCall('finish', { summary: `wrote ${id}` }),
  ];
  const server = await startServer({ agents: { a: write('a'), b: write('b'), c: write('c') } });
  try {
    const plan = join(repo.root, '..', 'plan-abc.json');
    const tasks = ['a', 'b', 'c'].map((id) => rawTask(id, { files: [`${id}.txt`] }));
    writeFileSync(plan, JSON.stringify({ version: 1, spec: 'Three files.', tasks }, null, 2));
    // One agent at a time; every check takes 1.5 s.
    const slow = 'slow=node -e "setTimeout(() => {}, 1500)"';
    const r = await runCli(['run', '--plan', plan, '--concurrency', '1', '--no-review', '--check', slow], {
      repo,
      server,
    });
    assert.equal(r.code, 0, r.stderr);
    const { events, state } = await readRun(repo, await latestRunId(repo));
    assert.deepEqual(
      ['a', 'b', 'c'].map((id) => state.tasks.get(id)?.status),
      ['merged', 'merged', 'merged'],
    );
    const at = (id: string, match: (e: (typeof events)[number]) => boolean) => {
      const e = events.find((x) => ('taskId' in x ? x.taskId === id : false) && match(x));
      assert.ok(e, `no such event for ${id}`);
      return e.seq;
    };
    const working = (e: (typeof events)[number]) => e.type === 'task_status' && e.status === 'working';
    const verified = (e: (typeof events)[number]) => e.type === 'verification';
    // b's agent started while a's checks ran, and c's while b's ran.
    assert.ok(at('b', working) < at('a', verified), "b waited for a's checks");
    assert.ok(at('c', working) < at('b', verified), "c waited for b's checks");
    // Never more than one agent talking to the model at once (reviews are off: every request is an agent's).
    assert.equal(server.stats.maxInFlight, 1);
  } finally {
    await server.close();
    repo.cleanup();
  }
});

test("an agent's first request goes out while its worktree is still being made", { timeout: 90_000 }, async () => {
  const repo = makeRepo();
  const write = (id: string) => [
    toolCall('write_file', { path: `${id}.txt`, content: `${id}\n` }),
    toolCall('finish', { summary: `wrote ${id}` }),
  ];
  const server = await startServer({ agents: { a: write('a') } });
  try {
    const plan = join(repo.root, '..', 'plan-a.json');
    writeFileSync(plan, JSON.stringify({ version: 1, spec: 'One file.', tasks: [rawTask('a', { files: ['a.txt'] })] }));
    // The worktree's set-up takes 1.5 s; the agent's opening messages need none of it.
    const setup = 'node -e "setTimeout(() => {}, 1500)"';
    const r = await runCli(['run', '--plan', plan, ...FLAGS, '--setup', setup], { repo, server });
    assert.equal(r.code, 0, r.stderr);
    const runId = await latestRunId(repo);
    const { events, state } = await readRun(repo, runId);
    assert.equal(state.tasks.get('a')?.status, 'merged');
    const worktreeReady = events.find((e) => e.type === 'task_worktree')?.t;
    assert.ok(worktreeReady !== undefined);
    assert.ok(
      server.requests[0].receivedAt < worktreeReady,
      'the first request was sent before the worktree was ready',
    );
    // Its tool call waited for the worktree: the file is in the merged work.
    assert.equal(repo.git(['show', `foreman/${runId}/integration:a.txt`]).trim(), 'a');
  } finally {
    await server.close();
    repo.cleanup();
  }
});

test(
  "a worktree that cannot be made fails its task with the reason, and the agent's request is not waited for",
  { timeout: 90_000 },
  async () => {
    const repo = makeRepo();
    // The first answer streams slowly (seconds a chunk): the task must not wait for it once its set-up has failed.
    const server = await startServer({
      agents: { a: [{ ...toolCall('finish', { summary: 'nothing' }), chunkDelayMs: 5000 }] },
    });
    try {
      const plan = join(repo.root, '..', 'plan-fail.json');
      writeFileSync(
        plan,
        JSON.stringify({ version: 1, spec: 'One file.', tasks: [rawTask('a', { files: ['a.txt'] })] }),
      );
      const started = Date.now();
      const r = await runCli(['run', '--plan', plan, ...FLAGS, '--setup', 'echo "no such toolchain" >&2; exit 3'], {
        repo,
        server,
      });
      assert.notEqual(r.code, 0);
      const { state } = await readRun(repo, await latestRunId(repo));
      const a = state.tasks.get('a');
      assert.equal(a?.status, 'failed');
      assert.match(a?.reason ?? '', /no such toolchain/);
      assert.ok(Date.now() - started < 15_000, 'the run did not wait for the slow answer');
      assert.equal(server.requests.length, 1, 'the request went out while the worktree was being made');
    } finally {
      await server.close();
      repo.cleanup();
    }
  },
);

test(
  'a task whose worktree cannot be made while it waits for an agent slot fails with the reason',
  { timeout: 90_000 },
  async () => {
    const repo = makeRepo();
    // a holds the one agent slot for a few seconds (a slowly streamed answer); b's set-up fails meanwhile.
    const server = await startServer({
      agents: {
        a: [
          { ...toolCall('write_file', { path: 'a.txt', content: 'a\n' }), chunkDelayMs: 700 },
          toolCall('finish', { summary: 'wrote a' }),
        ],
      },
    });
    try {
      const plan = join(repo.root, '..', 'plan-wait.json');
      const tasks = ['a', 'b'].map((id) => rawTask(id, { files: [`${id}.txt`] }));
      writeFileSync(plan, JSON.stringify({ version: 1, spec: 'Two files.', tasks }));
      const setup = 'case "$WORKTREE_PATH" in */b) echo "no such toolchain" >&2; exit 3;; esac';
      const r = await runCli(['run', '--plan', plan, ...FLAGS, '--concurrency', '1', '--setup', setup], {
        repo,
        server,
      });
      assert.notEqual(r.code, 0);
      const { state } = await readRun(repo, await latestRunId(repo));
      assert.equal(state.tasks.get('a')?.status, 'merged');
      const b = state.tasks.get('b');
      assert.equal(b?.status, 'failed', `b: ${b?.reason}`);
      assert.match(b?.reason ?? '', /no such toolchain/);
    } finally {
      await server.close();
      repo.cleanup();
    }
  },
);
