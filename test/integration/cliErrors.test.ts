/**
 * Ordinary mistakes on the command line: each gets one sentence that says what is wrong and what
 * to do, and its documented exit code (docs/cli.md), never `unexpected error` and a stack trace.
 * The CLI runs as a child process on real folders and git repositories.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { journalPath, latestRunId, makeRepo, planReply, rawTask, runCli, startServer } from './runHarness';
import type { CliResult } from './runHarness';
import { toolCall } from '../../src/scripted/scenario';
import { makeTempRepo } from './tempRepo';

/** What an expected failure must look like: the code, the sentence, and no trace of a crash. */
function expectMessage(r: CliResult, code: number, sentence: RegExp): void {
  assert.equal(r.code, code, `exit code; stderr:\n${r.stderr}`);
  assert.match(r.stderr, sentence);
  assert.doesNotMatch(r.stderr, /unexpected error/);
  assert.doesNotMatch(r.stderr, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace');
}

const BACKEND = { FOREMAN_BASE_URL: 'http://127.0.0.1:9/v1', FOREMAN_MODEL: 'm' };

test('a folder that is not a git repository, or does not exist: exit 2 with what to do', async () => {
  const folder = makeTempRepo({ empty: true, files: { 'a.txt': 'a\n' } });
  rmSync(join(folder.root, '.git'), { recursive: true, force: true });
  try {
    for (const args of [['status'], ['plan', 'anything'], ['run', 'anything', '--no-sandbox'], ['apply', 'r1']]) {
      const r = await runCli(args, { repo: folder, env: BACKEND });
      expectMessage(r, 2, /is not inside a git repository.*run it inside one \(or name it with --cwd DIR\)/);
    }
    const missing = await runCli(['status', '--cwd', join(folder.root, 'nope')], { repo: folder });
    expectMessage(missing, 2, /nope is not a folder\. Run foreman in your repository, or name it with --cwd DIR\./);
  } finally {
    folder.cleanup();
  }
});

test('a repository with no commits: a run is refused (exit 5) and told how to make the first commit', async () => {
  const repo = makeTempRepo({ empty: true, files: { 'a.txt': 'a\n' } });
  try {
    const r = await runCli(['run', 'anything', '--no-sandbox'], { repo, env: BACKEND });
    expectMessage(r, 5, /has no commits yet\. A run starts from a commit: make a first one \(git add -A && git commit/);
    const status = await runCli(['status'], { repo });
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /No runs in this repository yet/);
  } finally {
    repo.cleanup();
  }
});

test('unknown runs, run ids that are no ids, unknown tasks, missing files and bad flags: exit 2, said plainly', async () => {
  const repo = makeRepo();
  const server = await startServer({
    planner: [planReply([rawTask('one', { files: ['one.txt'] })])],
    agents: {
      one: [toolCall('write_file', { path: 'one.txt', content: '1\n' }), toolCall('finish', { summary: 'ok' })],
    },
  });
  try {
    expectMessage(
      await runCli(['status', 'r20990101-000000-abcd'], { repo }),
      2,
      /no run r20990101-000000-abcd in this repository/,
    );
    expectMessage(await runCli(['status', '../x'], { repo }), 2, /"\.\.\/x" is not a run id: run ids look like r/);
    expectMessage(await runCli(['apply'], { repo }), 2, /name the run to apply: foreman apply <run>/);
    expectMessage(await runCli(['clean', 'r20990101-000000-abcd'], { repo }), 2, /no run r20990101-000000-abcd/);
    expectMessage(
      await runCli(['accept', 'r20990101-000000-abcd', 'one'], { repo, server }),
      2,
      /no run r20990101-000000-abcd/,
    );
    expectMessage(
      await runCli(['plan', '--spec-file', 'missing.md'], { repo, server }),
      2,
      /--spec-file missing\.md: cannot read .*missing\.md: there is no such file/,
    );
    writeFileSync(join(repo.tmp, 'empty.md'), '  \n');
    expectMessage(
      await runCli(['plan', '--spec-file', join(repo.tmp, 'empty.md')], { repo, server }),
      2,
      /the file is empty; write the spec in it/,
    );
    expectMessage(
      await runCli(['run', '--plan', 'missing.json', '--no-sandbox'], { repo, server }),
      2,
      /The plan file is not valid:\n\s+- .*missing\.json: cannot read the plan file \(there is no such file\)/,
    );
    writeFileSync(join(repo.tmp, 'bad.json'), '{"version": 1, "tasks": [}\n');
    expectMessage(
      await runCli(['run', '--plan', join(repo.tmp, 'bad.json'), '--no-sandbox'], { repo, server }),
      2,
      /bad\.json: the file is not valid JSON at line 1, column 26/,
    );
    expectMessage(
      await runCli(['run', 'x', '--concurrency', '0'], { repo }),
      2,
      /--concurrency needs a whole number of at least 1, not "0"/,
    );
    expectMessage(
      await runCli(['apply', 'r1', '--mode', 'rebase'], { repo }),
      2,
      /--mode must be one of squash, merge, not "rebase"/,
    );
    expectMessage(
      await runCli(['plan', 'x', '--base-url', 'localhost:8000', '--model', 'm'], { repo }),
      2,
      /the backend URL "localhost:8000" is not an http\(s\) URL: give the server's OpenAI-compatible base/,
    );
    mkdirSync(join(repo.tmp, 'plan-dir'));
    expectMessage(
      await runCli(['plan', 'Write one file', '--out', join(repo.tmp, 'plan-dir')], { repo, server }),
      2,
      /Could not save the plan to .*plan-dir: .* Name another file with --out\./,
    );

    const run = await runCli(['run', 'Write one file', '--no-checks', '--no-review'], { repo, server });
    assert.equal(run.code, 0, run.stderr);
    const runId = await latestRunId(repo);
    expectMessage(
      await runCli(['audit', runId, '--task', 'nope'], { repo }),
      2,
      /--task nope: run \S+ has no such task \(its tasks: one\)/,
    );
    expectMessage(
      await runCli(['accept', runId, 'nope'], { repo, server }),
      5,
      /Refused: there is no task nope in this run/,
    );
  } finally {
    await server.close();
    repo.cleanup();
  }
});

test("a damaged journal: the run's status says so (exit 1) without a stack trace", async () => {
  const repo = makeRepo();
  const server = await startServer({
    planner: [planReply([rawTask('one')])],
    agents: { one: [toolCall('finish', { summary: 'nothing to do' })] },
  });
  try {
    const run = await runCli(['run', 'Do nothing', '--no-checks', '--no-review'], { repo, server });
    assert.notEqual(run.code, null, run.stderr);
    const runId = await latestRunId(repo);
    const path = journalPath(repo, runId);
    const lines = readFileSync(path, 'utf8').split('\n');
    lines.splice(1, 0, 'not a journal line');
    writeFileSync(path, lines.join('\n'));
    expectMessage(
      await runCli(['status', runId], { repo }),
      1,
      /line 2 is not a journal event\. The run cannot be rebuilt from a damaged journal/,
    );
  } finally {
    await server.close();
    repo.cleanup();
  }
});
