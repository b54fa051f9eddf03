/**
 * Taking a run's worktrees back after git commands of a killed Foreman died half way
 * (src/infra/worktreeRecovery.ts, through GitRepo.recoverRun). Each test first shows the leftover
 * breaking the next git command Foreman runs there, then that recovery mends it. The merge left
 * behind its commit is made by git itself, dying of SIGPIPE as under a killed Foreman; the lock
 * files and the cut-short checkout are the files a git killed outright leaves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cleanEnv } from './tempRepo';
import { makeTwoFileRepo, taskWithChange } from './gitFixtures';

/** The git folder of a linked worktree. */
function gitDirOf(worktree: string): string {
  return readFileSync(join(worktree, '.git'), 'utf8')
    .replace(/^gitdir: /, '')
    .trim();
}

/**
 * Merge `branch` in `worktree` with git's own output going to a reader that has gone: git prints
 * its summary after the merge commit and before clearing the merge state, and that write kills it,
 * as it does when the Foreman that ran it was killed.
 */
function mergeKilledAfterCommit(worktree: string, branch: string): void {
  const merge = `git -c user.name=Foreman -c user.email=foreman@localhost merge --no-ff -m 'Merge ${branch}' ${branch} | true`;
  execFileSync('sh', ['-c', merge], { cwd: worktree, env: cleanEnv() });
  assert.ok(existsSync(join(gitDirOf(worktree), 'MERGE_HEAD')), 'git did not die where the test meant it to');
}

test('a merge whose git died after the commit leaves MERGE_HEAD; recovery clears it and the next merge goes in', async () => {
  const { f, repo, base } = await makeTwoFileRepo();
  try {
    const one = await taskWithChange(repo, f, base, 'one', { 'one.txt': 'one\n' });
    const two = await taskWithChange(repo, f, base, 'two', { 'two.txt': 'two\n' });
    const three = await taskWithChange(repo, f, base, 'three', { 'three.txt': 'three\n' });
    const integration = (await repo.ensureWorktree('r1', 'integration', base, null)).path;
    mergeKilledAfterCommit(integration, one);
    await assert.rejects(repo.merge(integration, two, 'Merge two'), /MERGE_HEAD exists/);

    mergeKilledAfterCommit(integration, three);
    const merged = f.git(['rev-parse', 'HEAD'], integration).trim();
    const lines = await repo.recoverRun('r1');
    assert.deepEqual(lines, [`undid the merge state left in ${integration} by a merge that was killed`]);
    assert.equal(f.git(['rev-parse', 'HEAD'], integration).trim(), merged, 'the finished merge was kept');
    const result = await repo.merge(integration, two, 'Merge two');
    assert.equal(result.ok, true);
    for (const name of ['one', 'two', 'three']) assert.equal(f.read(`${name}.txt`, integration), `${name}\n`);
    assert.deepEqual(await repo.recoverRun('r1'), [], 'a second recovery finds nothing to do');
  } finally {
    f.cleanup();
  }
});

test('a merge whose git died before the commit is undone, and merging it again works', async () => {
  const { f, repo, base } = await makeTwoFileRepo();
  try {
    const one = await taskWithChange(repo, f, base, 'one', { 'one.txt': 'one\n' });
    const integration = (await repo.ensureWorktree('r1', 'integration', base, null)).path;
    f.git(['merge', '-q', '--no-ff', '--no-commit', one], integration);
    await assert.rejects(repo.merge(integration, one, 'Merge one'), /uncommitted changes/);
    const lines = await repo.recoverRun('r1');
    assert.equal(lines.length, 1);
    assert.equal(f.git(['rev-parse', 'HEAD'], integration).trim(), base);
    assert.equal(f.git(['status', '--porcelain'], integration), '');
    const result = await repo.merge(integration, one, 'Merge one');
    assert.ok(result.ok && !result.alreadyMerged, 'the branch was merged afresh');
  } finally {
    f.cleanup();
  }
});

test('a merge killed after it staged its files and before it committed (no MERGE_HEAD) is undone in the integration worktree only', async () => {
  const { f, repo, base } = await makeTwoFileRepo();
  try {
    const one = await taskWithChange(repo, f, base, 'one', { 'one.txt': 'one\n' });
    const integration = (await repo.ensureWorktree('r1', 'integration', base, null)).path;
    // What the killed merge leaves: the branch's files staged, HEAD unmoved, no MERGE_HEAD.
    f.git(['checkout', one, '--', 'one.txt'], integration);
    assert.ok(!existsSync(join(gitDirOf(integration), 'MERGE_HEAD')));
    await assert.rejects(repo.merge(integration, one, 'Merge one'), /uncommitted changes/);
    // A task's worktree with staged work is the agent's, and is left alone.
    const task = (await repo.ensureWorktree('r1', 'two', base, null)).path;
    writeFileSync(join(task, 'two.txt'), 'work in progress\n');
    f.git(['add', 'two.txt'], task);
    const lines = await repo.recoverRun('r1');
    assert.deepEqual(lines, [
      `undid the changes left in ${integration} by a merge that was killed before it committed`,
    ]);
    assert.equal(f.git(['status', '--porcelain'], integration), '');
    assert.equal(f.git(['status', '--porcelain'], task), 'A  two.txt\n', "the task's staged work is kept");
    const result = await repo.merge(integration, one, 'Merge one');
    assert.ok(result.ok && !result.alreadyMerged, 'the branch was merged afresh');
    assert.equal(f.read('one.txt', integration), 'one\n');
  } finally {
    f.cleanup();
  }
});

test('a merge killed while it wrote its files, before it staged them, is undone too: the files are removed', async () => {
  const { f, repo, base } = await makeTwoFileRepo();
  try {
    const one = await taskWithChange(repo, f, base, 'one', { 'one.txt': 'one\n' });
    const integration = (await repo.ensureWorktree('r1', 'integration', base, null)).path;
    // What the killed merge leaves: the branch's new file in the tree, untracked; nothing staged.
    writeFileSync(join(integration, 'one.txt'), 'one\n');
    await assert.rejects(repo.merge(integration, one, 'Merge one'), /would be overwritten by merge/);
    const lines = await repo.recoverRun('r1');
    assert.deepEqual(lines, [
      `undid the changes left in ${integration} by a merge that was killed before it committed`,
    ]);
    assert.equal(f.git(['status', '--porcelain'], integration), '');
    const result = await repo.merge(integration, one, 'Merge one');
    assert.ok(result.ok && !result.alreadyMerged, 'the branch was merged afresh');
  } finally {
    f.cleanup();
  }
});

test("lock files of a git killed outright are removed: the worktree's index.lock and the branch's ref lock", async () => {
  const { f, repo, base } = await makeTwoFileRepo();
  try {
    await taskWithChange(repo, f, base, 'one', { 'one.txt': 'one\n' });
    const wt = (await repo.ensureWorktree('r1', 'one', base, null)).path;
    f.write('more.txt', 'more\n', wt);
    const indexLock = join(gitDirOf(wt), 'index.lock');
    const refLock = join(f.root, '.git', 'refs', 'heads', 'foreman', 'r1', 'one.lock');
    writeFileSync(indexLock, '');
    await assert.rejects(repo.commitAll(wt, 'more'), /index\.lock/);
    rmSync(indexLock);
    writeFileSync(refLock, '');
    await assert.rejects(repo.commitAll(wt, 'more'), /one\.lock/);
    writeFileSync(indexLock, '');
    const lines = await repo.recoverRun('r1');
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.ok(!existsSync(indexLock) && !existsSync(refLock));
    assert.ok(await repo.commitAll(wt, 'more'), 'nothing was committed after the recovery');
    assert.equal(f.git(['show', 'foreman/r1/one:more.txt']), 'more\n');
  } finally {
    f.cleanup();
  }
});

test('a worktree whose checkout was cut short is removed and made again from its branch', async () => {
  const { f, repo, base } = await makeTwoFileRepo();
  try {
    await taskWithChange(repo, f, base, 'one', { 'one.txt': 'one\n' });
    const wt = (await repo.ensureWorktree('r1', 'one', base, null)).path;
    // What `git worktree add` killed mid-checkout leaves: some files, an index.lock, no index.
    const gitDir = gitDirOf(wt);
    rmSync(join(gitDir, 'index'));
    rmSync(join(wt, 'a.txt'));
    writeFileSync(join(gitDir, 'index.lock'), '');
    writeFileSync(join(gitDir, 'locked'), 'initializing\n');
    const lines = await repo.recoverRun('r1');
    assert.equal(lines.length, 2, lines.join('\n'));
    assert.match(lines[1], /checkout was cut short/);
    assert.ok(!existsSync(wt));
    const again = await repo.ensureWorktree('r1', 'one', base, null);
    assert.equal(again.created, true);
    assert.equal(f.read('one.txt', again.path), 'one\n', "the branch's work is there again");
    assert.equal(f.read('a.txt', again.path), 'line 1\nline 2\n');
    assert.equal(await repo.commitAll(again.path, 'nothing'), null, 'the new checkout is complete and clean');
  } finally {
    f.cleanup();
  }
});

test("recovery touches only the run's own worktrees and branches", async () => {
  const { f, repo, base } = await makeTwoFileRepo();
  try {
    const other = (await repo.ensureWorktree('r2', 'one', base, null)).path;
    await repo.ensureWorktree('r1', 'one', base, null);
    const otherLock = join(gitDirOf(other), 'index.lock');
    const devLock = join(f.root, '.git', 'index.lock');
    writeFileSync(otherLock, '');
    writeFileSync(devLock, '');
    assert.deepEqual(await repo.recoverRun('r1'), []);
    assert.ok(existsSync(otherLock), "another run's lock was removed");
    assert.ok(existsSync(devLock), "the developer's index lock was removed");
  } finally {
    f.cleanup();
  }
});

test('a worktree whose creation was killed before git registered it: the folder left behind is cleared and the worktree made', async () => {
  const { f, repo, base } = await makeTwoFileRepo();
  try {
    const one = (await repo.ensureWorktree('r2', 'one', base, null)).path;
    const leftover = join(dirname(one), 'two');
    mkdirSync(leftover, { recursive: true });
    writeFileSync(join(leftover, 'half.txt'), 'half a checkout\n');
    assert.throws(
      () => f.git(['worktree', 'add', '-b', 'foreman/r2/two', leftover, base]),
      /already exists/,
      'the leftover folder breaks the worktree add, as it did after a kill -9',
    );
    const made = await repo.ensureWorktree('r2', 'two', base, null);
    assert.equal(made.path, leftover);
    assert.equal(made.created, true);
    assert.equal(existsSync(join(leftover, 'half.txt')), false, 'the half-made folder was cleared');
    assert.equal(f.git(['rev-parse', 'HEAD'], leftover).trim(), base);
    assert.equal(f.git(['rev-parse', '--abbrev-ref', 'HEAD'], leftover).trim(), 'foreman/r2/two');
  } finally {
    f.cleanup();
  }
});
