import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { commitAllAsDev, makeTwoFileRepo, taskWithChange } from './gitFixtures';

test('apply squash lands one commit on the developer branch and keeps unrelated dirty files', async () => {
  const { f, repo, base } = await makeTwoFileRepo();
  try {
    const branch = await taskWithChange(repo, f, base, 't1', { 'a.txt': 'line 1\nnew line 2\n', 'c.txt': 'c\n' });
    f.write('b.txt', 'my unrelated edit\n');
    f.write('notes.txt', 'scratch\n');
    const result = await repo.apply(branch, base, 'squash', 'Apply run r1');
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.files, ['a.txt', 'c.txt']);
    assert.equal(f.git(['rev-parse', 'main']).trim(), result.commit);
    assert.equal(f.git(['log', '-1', '--format=%P|%s|%an', result.commit]).trim(), `${base}|Apply run r1|Dev Eloper`);
    assert.equal(f.read('a.txt'), 'line 1\nnew line 2\n');
    assert.equal(f.read('c.txt'), 'c\n');
    assert.equal(f.read('b.txt'), 'my unrelated edit\n');
    assert.equal(f.read('notes.txt'), 'scratch\n');
    assert.equal(f.git(['status', '--porcelain']), ' M b.txt\n?? notes.txt\n');
    assert.equal(f.git(['worktree', 'list', '--porcelain']).includes('.apply-'), false);
    assert.deepEqual(
      readdirSync(f.worktreeRoot).filter((n) => n.startsWith('.apply-')),
      [],
    );
  } finally {
    f.cleanup();
  }
});

test('apply merge makes a merge commit on the developer branch', async () => {
  const { f, repo, base } = await makeTwoFileRepo();
  try {
    const branch = await taskWithChange(repo, f, base, 't1', { 'c.txt': 'c\n' });
    f.write('e.txt', 'e\n');
    const own = commitAllAsDev(f, 'developer kept working');
    const result = await repo.apply(branch, base, 'merge', 'Merge run r1');
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.mode, 'merge');
    const branchTip = f.git(['rev-parse', branch]).trim();
    assert.equal(f.git(['log', '-1', '--format=%P', 'main']).trim(), `${own} ${branchTip}`);
    assert.equal(f.read('c.txt'), 'c\n');
    assert.equal(f.git(['status', '--porcelain']), '');
  } finally {
    f.cleanup();
  }
});

test('apply is refused when an involved file is dirty, and nothing changes', async () => {
  const { f, repo, base } = await makeTwoFileRepo();
  try {
    const branch = await taskWithChange(repo, f, base, 't1', { 'a.txt': 'line 1\nfrom task\n', 'c.txt': 'c\n' });
    f.write('a.txt', 'my local edit\n');
    f.write('c.txt', 'my own untracked c\n');
    const result = await repo.apply(branch, base, 'squash', 'Apply');
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.reason, 'dirty');
    assert.deepEqual(result.files, ['a.txt', 'c.txt']);
    assert.match(result.message, /Commit them .* first; nothing was changed/);
    assert.equal(f.git(['rev-parse', 'main']).trim(), base);
    assert.equal(f.read('a.txt'), 'my local edit\n');
    assert.equal(f.read('c.txt'), 'my own untracked c\n');
  } finally {
    f.cleanup();
  }
});

test('apply refuses a detached HEAD, nothing to apply, and a conflict, changing nothing', async () => {
  const { f, repo, base } = await makeTwoFileRepo();
  try {
    const branch = await taskWithChange(repo, f, base, 't1', { 'a.txt': 'line 1\nfrom task\n' });
    const empty = await repo.ensureWorktree('r1', 'empty', base, null);
    const nothing = await repo.apply(empty.branch, base, 'squash', 'Apply');
    assert.equal(!nothing.ok && nothing.reason, 'nothing');
    f.git(['checkout', '-q', '--detach']);
    const detached = await repo.apply(branch, base, 'squash', 'Apply');
    assert.equal(!detached.ok && detached.reason, 'detached');
    f.git(['checkout', '-q', 'main']);
    f.write('a.txt', 'line 1\nfrom developer\n');
    const own = commitAllAsDev(f, 'conflicting edit');
    for (const mode of ['squash', 'merge'] as const) {
      const conflict = await repo.apply(branch, base, mode, 'Apply');
      assert.equal(conflict.ok, false);
      if (conflict.ok) return;
      assert.equal(conflict.reason, 'conflict');
      assert.deepEqual(conflict.files, ['a.txt']);
      // In Foreman's words: the file, that nothing changed, and how to go on; not git's advice.
      assert.match(conflict.message, /both changed this file, and the changes conflict, so nothing was applied/);
      assert.match(conflict.message, /^ {2}a\.txt$/m);
      const how = mode === 'squash' ? `git merge --squash ${branch}` : `git merge ${branch}`;
      assert.ok(conflict.message.includes(`${how}, edit the files`), conflict.message);
      assert.doesNotMatch(conflict.message, /fix conflicts|CONFLICT \(|Automatic merge failed/);
    }
    assert.equal(f.git(['rev-parse', 'main']).trim(), own);
    assert.equal(f.git(['status', '--porcelain']), '');
    assert.equal(f.read('a.txt'), 'line 1\nfrom developer\n');
    assert.equal(f.git(['worktree', 'list', '--porcelain']).includes('.apply-'), false);
  } finally {
    f.cleanup();
  }
});

test('a run based on a snapshot applies only its own work, not the snapshot of uncommitted changes', async () => {
  const { f, repo } = await makeTwoFileRepo();
  try {
    f.write('b.txt', 'uncommitted edit captured by the snapshot\n');
    const snap = await repo.resolveBase('snapshot');
    assert.ok(snap.ok && snap.snapshot);
    if (!snap.ok) return;
    const branch = await taskWithChange(repo, f, snap.commit, 't1', { 'c.txt': 'from the run\n' });
    f.git(['checkout', '--', 'b.txt']);
    const result = await repo.apply(branch, snap.commit, 'merge', 'Apply snapshot run');
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.mode, 'squash', 'a snapshot run is applied as one commit');
    assert.deepEqual(f.git(['show', '--name-only', '--format=', result.commit]).trim().split('\n'), ['c.txt']);
    assert.notEqual(f.read('b.txt'), 'uncommitted edit captured by the snapshot\n');
    assert.equal(f.git(['status', '--porcelain']), '');
  } finally {
    f.cleanup();
  }
});
