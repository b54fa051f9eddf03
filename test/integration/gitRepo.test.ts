import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { createGitRepo, defaultWorktreeRoot } from '../../src/infra/gitRepo';
import { runGit } from '../../src/infra/gitExec';
import { RepoError } from '../../src/core/repoPort';
import { execFileSync } from 'node:child_process';
import { commitAllAsDev, fileHash, makeFixture } from './gitFixtures';

test('createGitRepo rejects a directory outside any git repository', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'foreman-nogit-'));
  try {
    await assert.rejects(
      createGitRepo({ cwd: dir }),
      (e: unknown) => RepoError.is(e) && e.reason === 'notGit' && /not inside a git repository/.test(e.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('root and stateDir are found from a subdirectory and from a linked worktree', async () => {
  const f = makeFixture();
  try {
    f.write('sub/x.txt', 'x\n');
    const repo = await f.open(join(f.root, 'sub'));
    assert.equal(repo.root, f.root);
    assert.equal(repo.stateDir, join(f.root, '.git', 'foreman'));
    assert.ok(existsSync(repo.stateDir));
    const linked = join(f.tmp, 'linked');
    f.git(['worktree', 'add', '-q', '--detach', linked]);
    const fromLinked = await f.open(linked);
    assert.equal(fromLinked.root, linked);
    assert.equal(fromLinked.stateDir, repo.stateDir);
  } finally {
    f.cleanup();
  }
});

test('defaultWorktreeRoot lies under ~/.foreman/worktrees, named by basename and sha1', () => {
  const root = '/some/where/my-project';
  const expected = createHash('sha1').update(root).digest('hex').slice(0, 8);
  assert.equal(defaultWorktreeRoot(root), join(homedir(), '.foreman', 'worktrees', `my-project-${expected}`));
  assert.notEqual(defaultWorktreeRoot(root), defaultWorktreeRoot('/other/my-project'));
  assert.ok(relative(root, defaultWorktreeRoot(root)).startsWith('..'));
});

test('resolveBase on a clean checkout is HEAD and the branch; detached HEAD has no branch', async () => {
  const f = makeFixture();
  try {
    const repo = await f.open();
    const head = f.git(['rev-parse', 'HEAD']).trim();
    assert.deepEqual(await repo.resolveBase('refuse'), { ok: true, commit: head, snapshot: false, branch: 'main' });
    f.git(['checkout', '-q', '--detach']);
    assert.deepEqual(await repo.resolveBase('refuse'), { ok: true, commit: head, snapshot: false, branch: null });
  } finally {
    f.cleanup();
  }
});

test('resolveBase in a repository without commits is a clear error', async () => {
  const f = makeFixture({ empty: true });
  try {
    const repo = await f.open();
    await assert.rejects(
      repo.resolveBase('refuse'),
      (e: unknown) => RepoError.is(e) && e.reason === 'noCommits' && /no commits yet/.test(e.message),
    );
  } finally {
    f.cleanup();
  }
});

test('resolveBase refuses a dirty checkout, listing staged, unstaged and untracked files', async () => {
  const f = makeFixture();
  try {
    f.write('.gitignore', 'ignored.log\n');
    f.write('tracked.txt', 'one\n');
    commitAllAsDev(f, 'more');
    f.write('tracked.txt', 'two\n');
    f.write('staged.txt', 'staged\n');
    f.git(['add', 'staged.txt']);
    f.write('dir/untracked.txt', 'u\n');
    f.write('ignored.log', 'noise\n');
    const repo = await f.open();
    const result = await repo.resolveBase('refuse');
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.reason, 'dirty');
    assert.deepEqual(result.files, ['dir/untracked.txt', 'staged.txt', 'tracked.txt']);
    assert.match(result.message, /uncommitted changes \(dir\/untracked\.txt, staged\.txt, tracked\.txt\)/);
  } finally {
    f.cleanup();
  }
});

test("resolveBase leaves the run's own plan and spec files out: they neither dirty the checkout nor enter a snapshot", async () => {
  const f = makeFixture();
  try {
    f.write('plans/plan.json', '{}\n');
    f.write('spec.md', 'the spec\n');
    const repo = await f.open();
    const ignore = [join(repo.root, 'plans/plan.json'), join(repo.root, 'spec.md'), '/elsewhere/plan.json'];
    const head = f.git(['rev-parse', 'HEAD']).trim();
    assert.deepEqual(await repo.resolveBase('refuse', { ignore }), {
      ok: true,
      commit: head,
      snapshot: false,
      branch: 'main',
    });
    const dirty = await repo.resolveBase('refuse', { ignore: ignore.slice(1) });
    assert.equal(dirty.ok, false, 'a file not named stays dirty');
    if (!dirty.ok) assert.deepEqual(dirty.files, ['plans/plan.json']);
    f.write('other.txt', 'x\n');
    const snap = await repo.resolveBase('snapshot', { ignore });
    assert.ok(snap.ok && snap.snapshot);
    if (!snap.ok) return;
    const tree = f.git(['ls-tree', '-r', '--name-only', snap.commit]).split('\n').filter(Boolean);
    assert.ok(tree.includes('other.txt'));
    assert.ok(!tree.includes('spec.md') && !tree.includes('plans/plan.json'), tree.join(', '));
  } finally {
    f.cleanup();
  }
});

test('resolveBase snapshot captures the working tree and leaves the checkout byte-for-byte unchanged', async () => {
  const f = makeFixture();
  try {
    f.write('.gitignore', 'ignored.log\n');
    f.write('tracked.txt', 'one\n');
    const head = commitAllAsDev(f, 'more');
    f.write('tracked.txt', 'two\n');
    f.write('staged.txt', 'staged\n');
    f.git(['add', 'staged.txt']);
    f.write('new/untracked.txt', 'fresh\n');
    f.write('ignored.log', 'noise\n');
    const indexPath = join(f.root, '.git', 'index');
    const before = {
      status: f.git(['status', '--porcelain']),
      index: fileHash(indexPath),
      head: f.git(['rev-parse', 'HEAD']),
      branch: f.git(['branch', '--show-current']),
    };
    const repo = await f.open();
    const result = await repo.resolveBase('snapshot');
    assert.ok(result.ok);
    assert.equal(result.snapshot, true);
    assert.equal(result.branch, 'main');
    assert.notEqual(result.commit, head);
    assert.equal(f.git(['rev-parse', `${result.commit}^`]).trim(), head);
    assert.equal(f.git(['show', `${result.commit}:tracked.txt`]), 'two\n');
    assert.equal(f.git(['show', `${result.commit}:staged.txt`]), 'staged\n');
    assert.equal(f.git(['show', `${result.commit}:new/untracked.txt`]), 'fresh\n');
    assert.doesNotMatch(f.git(['ls-tree', '-r', '--name-only', result.commit]), /ignored\.log/);
    assert.equal(f.git(['rev-parse', `refs/foreman/snapshots/${result.commit}`]).trim(), result.commit);
    const after = {
      status: f.git(['status', '--porcelain']),
      index: fileHash(indexPath),
      head: f.git(['rev-parse', 'HEAD']),
      branch: f.git(['branch', '--show-current']),
    };
    assert.deepEqual(after, before);
    assert.equal(f.read('tracked.txt'), 'two\n');
  } finally {
    f.cleanup();
  }
});

test('ensureWorktree creates the worktree outside the repository and reuses it on a second call', async () => {
  const f = makeFixture();
  try {
    const repo = await f.open();
    const base = f.git(['rev-parse', 'HEAD']).trim();
    const setup = { include: [], command: 'echo run >> "$WORKTREE_PATH/count.txt"', timeoutMs: 10_000 };
    const first = await repo.ensureWorktree('r1', 't1', base, setup);
    assert.equal(first.created, true);
    assert.equal(first.branch, 'foreman/r1/t1');
    assert.equal(first.path, join(realpathSync(f.worktreeRoot), 'r1', 't1'));
    assert.ok(relative(f.root, first.path).startsWith('..'), 'worktree must be outside the checkout');
    assert.equal(f.git(['rev-parse', 'HEAD'], first.path).trim(), base);
    assert.equal(f.git(['rev-parse', 'foreman/r1/t1']).trim(), base);
    const second = await repo.ensureWorktree('r1', 't1', base, setup);
    assert.deepEqual(second, { path: first.path, branch: 'foreman/r1/t1', created: false });
    assert.equal(f.read('count.txt', first.path), 'run\n', 'set-up runs only on creation');
  } finally {
    f.cleanup();
  }
});

test('ensureWorktree adds the worktree on an existing branch', async () => {
  const f = makeFixture();
  try {
    const repo = await f.open();
    const base = f.git(['rev-parse', 'HEAD']).trim();
    const wt = await repo.ensureWorktree('r1', 't1', base, null);
    f.write('work.txt', 'done\n', wt.path);
    const tip = commitAllAsDev(f, 'work', wt.path);
    await repo.removeWorktree(wt.path, { deleteBranch: null });
    assert.equal(existsSync(wt.path), false);
    const again = await repo.ensureWorktree('r1', 't1', base, null);
    assert.equal(again.created, true);
    assert.equal(f.git(['rev-parse', 'HEAD'], again.path).trim(), tip);
    assert.equal(f.read('work.txt', again.path), 'done\n');
  } finally {
    f.cleanup();
  }
});

test('set-up copies the files named (root .env ones here) without overwriting, and runs the command with WORKTREE_PATH and REPO_PATH', async () => {
  const f = makeFixture();
  try {
    f.write('.env.shared', 'committed\n');
    f.write('.gitignore', '.env\n.env.local\nsub/.env\n');
    const base = commitAllAsDev(f, 'env files');
    f.write('.env', 'SECRET=1\n');
    f.write('.env.local', 'LOCAL=1\n');
    f.write('.env.shared', 'changed locally\n');
    f.write('sub/.env', 'NESTED=1\n');
    const repo = await f.open();
    const command = 'printf "%s\\n%s\\n" "$WORKTREE_PATH" "$REPO_PATH" > setup-env.txt';
    const wt = await repo.ensureWorktree('r1', 't1', base, { include: ['/.env*'], command, timeoutMs: 10_000 });
    assert.equal(f.read('.env', wt.path), 'SECRET=1\n');
    assert.equal(f.read('.env.local', wt.path), 'LOCAL=1\n');
    assert.equal(f.read('.env.shared', wt.path), 'committed\n', 'an existing file is never overwritten');
    assert.equal(existsSync(join(wt.path, 'sub', '.env')), false, 'only root .env* by that pattern');
    assert.equal(f.read('setup-env.txt', wt.path), `${wt.path}\n${f.root}\n`);
  } finally {
    f.cleanup();
  }
});

test('.worktreeinclude replaces the default list, and an explicit include replaces both', async () => {
  const f = makeFixture();
  try {
    f.write('.worktreeinclude', '# local files\nconfig/*.local.json\nsecrets/\n!secrets/skip.txt\n\n**/cache.db\n');
    f.write('.gitignore', '*.local.json\nsecrets/\ncache.db\n.env\n');
    const base = commitAllAsDev(f, 'include list');
    f.write('.env', 'X=1\n');
    f.write('config/app.local.json', '{}\n');
    f.write('config/deep/app.local.json', '{}\n');
    f.write('secrets/a.txt', 'a\n');
    f.write('secrets/inner/b.txt', 'b\n');
    f.write('secrets/skip.txt', 'no\n');
    f.write('pkg/cache.db', 'db\n');
    const repo = await f.open();
    const wt = await repo.ensureWorktree('r1', 't1', base, { include: null, command: null, timeoutMs: 1000 });
    const has = (rel: string): boolean => existsSync(join(wt.path, rel));
    assert.deepEqual(
      [
        'config/app.local.json',
        'config/deep/app.local.json',
        'secrets/a.txt',
        'secrets/inner/b.txt',
        'secrets/skip.txt',
        'pkg/cache.db',
        '.env',
      ].map(has),
      [true, false, true, true, false, true, false],
    );
    const wt2 = await repo.ensureWorktree('r1', 't2', base, { include: ['.env'], command: null, timeoutMs: 1000 });
    assert.equal(existsSync(join(wt2.path, '.env')), true);
    assert.equal(existsSync(join(wt2.path, 'secrets', 'a.txt')), false);
  } finally {
    f.cleanup();
  }
});

test('a failing set-up command rejects with the command, exit code and output, and leaves no worktree', async () => {
  const f = makeFixture();
  try {
    const repo = await f.open();
    const base = f.git(['rev-parse', 'HEAD']).trim();
    const setup = { include: null, command: 'echo preparing; echo boom-detail >&2; exit 3', timeoutMs: 10_000 };
    await assert.rejects(repo.ensureWorktree('r1', 't1', base, setup), (error: Error) => {
      assert.match(error.message, /echo preparing; echo boom-detail >&2; exit 3/);
      assert.match(error.message, /code 3/);
      assert.match(error.message, /boom-detail/);
      return true;
    });
    assert.deepEqual(await repo.listWorktrees(), []);
    assert.equal(await repo.branchHead('foreman/r1/t1'), null);
    const retry = await repo.ensureWorktree('r1', 't1', base, { include: null, command: 'true', timeoutMs: 10_000 });
    assert.equal(retry.created, true);
  } finally {
    f.cleanup();
  }
});

test('listWorktrees and removeWorktree leave nothing behind, also after a worktree was deleted by hand', async () => {
  const f = makeFixture();
  try {
    const repo = await f.open();
    const base = f.git(['rev-parse', 'HEAD']).trim();
    const a = await repo.ensureWorktree('run-7', 'task-a', base, null);
    const b = await repo.ensureWorktree('run-7', 'integration', base, null);
    const listed = (await repo.listWorktrees()).sort((x, y) => x.taskId.localeCompare(y.taskId));
    assert.deepEqual(listed, [
      { path: b.path, branch: 'foreman/run-7/integration', runId: 'run-7', taskId: 'integration' },
      { path: a.path, branch: 'foreman/run-7/task-a', runId: 'run-7', taskId: 'task-a' },
    ]);
    await repo.removeWorktree(a.path, { deleteBranch: a.branch });
    assert.equal(existsSync(a.path), false);
    assert.equal(await repo.branchHead(a.branch), null);
    rmSync(b.path, { recursive: true, force: true });
    assert.deepEqual(await repo.listWorktrees(), []);
    await repo.removeWorktree(b.path, { deleteBranch: b.branch });
    await repo.removeWorktree(b.path, { deleteBranch: b.branch });
    assert.equal(existsSync(join(f.worktreeRoot, 'run-7')), false);
    assert.equal(f.git(['worktree', 'list', '--porcelain']).match(/^worktree /gm)?.length, 1);
    assert.equal(f.git(['branch', '--list', 'foreman/*']).trim(), '');
    assert.equal(basename(repo.worktreeRoot), 'worktrees');
    f.git(['checkout', '-q', '-b', 'foreman/r9/t9']);
    assert.deepEqual(await repo.listWorktrees(), [], "the developer's own checkout is never listed");
    await assert.rejects(repo.ensureWorktree('r9', 't9', 'HEAD', null), /checked out in your checkout/);
  } finally {
    f.cleanup();
  }
});

// `npm test` runs with EDITOR=vi (npm exports it to every script, CI's included), and simple-git
// refuses an explicit environment that carries EDITOR, VISUAL, PAGER, PREFIX or SSH_ASKPASS.
test('runGit with an explicit env works when npm has exported EDITOR', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'foreman-e2e-git-'));
  const saved = process.env.EDITOR;
  process.env.EDITOR = 'vi';
  try {
    execFileSync('git', ['init', '-q', dir]);
    const out = await runGit(dir, ['rev-parse', '--git-dir'], { env: { GIT_INDEX_FILE: join(dir, 'tmp-index') } });
    assert.equal(out.exitCode, 0);
  } finally {
    if (saved === undefined) delete process.env.EDITOR;
    else process.env.EDITOR = saved;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('changedFiles after commitAll lists what git itself lists: added, changed, deleted, renamed', async () => {
  const f = makeFixture();
  try {
    f.write('keep.txt', 'keep\n');
    f.write('old-name.txt', 'some text that is long enough to be seen as a rename\n');
    f.write('gone.txt', 'bye\n');
    const base = commitAllAsDev(f, 'base');
    const repo = await f.open();
    const wt = await repo.ensureWorktree('r1', 't1', base, null);
    assert.equal(await repo.commitAll(wt.path, 'nothing yet'), null, 'nothing staged: no commit');
    f.write('keep.txt', 'changed\n', wt.path);
    f.write('deep/new file.txt', 'new\n', wt.path);
    rmSync(join(wt.path, 'gone.txt'));
    f.git(['mv', 'old-name.txt', 'new-name.txt'], wt.path);
    const commit = await repo.commitAll(wt.path, 'work');
    assert.ok(commit !== null);
    assert.equal(f.git(['rev-parse', 'HEAD'], wt.path).trim(), commit);
    const fromGit = f
      .git(['diff', '--name-only', '--no-renames', '-z', `${commit}~1`, commit])
      .split('\0')
      .filter(Boolean)
      .sort();
    assert.deepEqual(fromGit, ['deep/new file.txt', 'gone.txt', 'keep.txt', 'new-name.txt', 'old-name.txt']);
    assert.deepEqual(await repo.changedFiles(`${commit}~1`, commit), fromGit);
    assert.deepEqual(
      await repo.changedFiles(`${commit}~1`, commit),
      fromGit,
      'asked again (now through git): the same',
    );
    assert.deepEqual(await repo.changedFiles(base, commit), fromGit);
  } finally {
    f.cleanup();
  }
});

test('commitAll commits a message holding NUL and other control characters, shown as control pictures', async () => {
  const f = makeFixture();
  try {
    const repo = await f.open();
    const wt = await repo.ensureWorktree('r1', 't1', f.git(['rev-parse', 'HEAD']).trim(), null);
    f.write('done.txt', 'done\n', wt.path);
    const commit = await repo.commitAll(
      wt.path,
      'foreman(t1): done\n\nsummary with a NUL \u0000, a bell \u0007 and an\tescape \u001b[31m',
    );
    assert.ok(commit !== null, 'the work is committed');
    const message = f.git(['log', '-1', '--format=%B', commit], wt.path);
    assert.match(message, /summary with a NUL \u2400, a bell \u2407 and an\tescape \u241b\[31m/);
    assert.equal(f.git(['status', '--porcelain'], wt.path), '', 'nothing is left uncommitted');
  } finally {
    f.cleanup();
  }
});

test('ensureWorktree stays right when worktrees and branches change behind its back', async () => {
  const f = makeFixture();
  try {
    const repo = await f.open();
    const base = f.git(['rev-parse', 'HEAD']).trim();
    const a = await repo.ensureWorktree('r1', 'a', base, null);
    await repo.ensureWorktree('r1', 'b', base, null);
    // A worktree directory deleted by hand: it is made again, not reported as existing.
    rmSync(a.path, { recursive: true, force: true });
    const again = await repo.ensureWorktree('r1', 'a', base, null);
    assert.equal(again.created, true);
    assert.ok(existsSync(join(again.path, '.git')));
    // A branch created by someone else after the worktrees were listed: the worktree is added on it.
    f.write('other.txt', 'other\n');
    const other = commitAllAsDev(f, 'other');
    f.git(['branch', 'foreman/r1/c', other]);
    f.git(['reset', '-q', '--hard', base]);
    const c = await repo.ensureWorktree('r1', 'c', base, null);
    assert.equal(c.created, true);
    assert.equal(f.git(['rev-parse', 'HEAD'], c.path).trim(), other);
    // A worktree added by someone else: found, not added twice.
    const byHand = join(f.worktreeRoot, 'r1', 'd');
    f.git(['worktree', 'add', '-q', '-b', 'foreman/r1/d', byHand, base]);
    const d = await repo.ensureWorktree('r1', 'd', base, null);
    assert.deepEqual(d, { path: realpathSync(byHand), branch: 'foreman/r1/d', created: false });
    const listed = (await repo.listWorktrees()).map((w) => w.taskId).sort();
    assert.deepEqual(listed, ['a', 'b', 'c', 'd']);
  } finally {
    f.cleanup();
  }
});

test('many git calls at once all complete with their own output', async () => {
  const f = makeFixture();
  try {
    const names = Array.from({ length: 16 }, (_, i) => `n${i}`);
    const outs = await Promise.all(names.map((n) => runGit(f.root, ['rev-parse', '--sq-quote', n])));
    assert.deepEqual(
      outs.map((o) => [o.exitCode, o.stdout.trim()]),
      names.map((n) => [0, `'${n}'`]),
    );
    const failing = await Promise.all([
      runGit(f.root, ['rev-parse', '--verify', '-q', 'nope']),
      runGit(f.root, ['status', '--porcelain']),
    ]);
    assert.deepEqual(
      failing.map((o) => o.exitCode),
      [1, 0],
      'a failure does not hold up the others',
    );
  } finally {
    f.cleanup();
  }
});
