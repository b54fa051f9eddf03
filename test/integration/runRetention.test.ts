/**
 * Worktrees do not leak across runs: `foreman clean` and the start of every run remove the
 * worktrees of finished runs beyond the retention setting and of runs whose journal is gone,
 * saving uncommitted work on the task's branch first, and keeping every branch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { toolCall } from '../../src/scripted/scenario';
import type { Scenario } from '../../src/scripted/scenario';
import {
  journalPath,
  latestRunId,
  makeRepo,
  NODE_TEMPLATE,
  planReply,
  rawTask,
  runCli,
  startServer,
} from './runHarness';

const SCENARIO: Scenario = {
  planner: [planReply([rawTask('one', { files: ['one.txt'] })])],
  agents: {
    one: [toolCall('write_file', { path: 'one.txt', content: '1\n' }), toolCall('finish', { summary: 'wrote one' })],
  },
};

test('clean and the start of a run remove finished and abandoned worktrees, keeping branches and work', async () => {
  const repo = makeRepo({
    files: { ...NODE_TEMPLATE, 'foreman.json': '{ "retention": { "keepFinishedRuns": 0 } }\n' },
  });
  const server = await startServer(SCENARIO);
  const cli = (...args: string[]) => runCli([...args, '--no-checks', '--no-review'], { repo, server });
  try {
    assert.equal((await cli('run', 'write one')).code, 0);
    const first = await latestRunId(repo);
    const taskWorktree = join(repo.worktreeRoot, first, 'one');
    assert.ok(existsSync(taskWorktree));
    repo.write('notes.txt', 'left behind in the worktree\n', taskWorktree);

    const cleaned = await cli('clean');
    assert.equal(cleaned.code, 0, cleaned.stderr);
    assert.match(cleaned.stdout, /removed worktree .*one .*older than the 0 newest finished runs.*saved as/);
    assert.equal(existsSync(taskWorktree), false);
    assert.equal(existsSync(join(repo.worktreeRoot, first, 'integration')), false);
    assert.equal(
      repo.git(['show', `foreman/${first}/one:notes.txt`]),
      'left behind in the worktree\n',
      'uncommitted work was saved on the branch',
    );
    assert.match(repo.git(['worktree', 'list']), /^[^\n]*\n?$/, "only the developer's checkout is left");

    assert.equal((await cli('run', 'write one again')).code, 0);
    const second = await latestRunId(repo);
    rmSync(dirname(journalPath(repo, second)), { recursive: true, force: true });
    const third = await cli('run', 'and once more');
    assert.equal(third.code, 0, third.stderr);
    assert.match(third.stderr, new RegExp(`removed worktree .*${second}.*no journal`));
    assert.equal(existsSync(join(repo.worktreeRoot, second)), false);
    assert.ok(
      repo.git(['branch', '--list', `foreman/${second}/*`]).includes(`foreman/${second}/one`),
      'branches are kept',
    );
  } finally {
    await server.close();
    repo.cleanup();
  }
});
