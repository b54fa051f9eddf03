import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeTwoFileRepo, taskWithChange } from './gitFixtures';

test('commitAll commits everything as Foreman without running hooks, and is null when nothing changed', async () => {
  const { f, repo, base } = await makeTwoFileRepo();
  try {
    const wt = await repo.ensureWorktree('r1', 't1', base, null);
    assert.equal(await repo.commitAll(wt.path, 'nothing'), null);
    f.write(join(f.root, '.git', 'hooks', 'pre-commit'), '#!/bin/sh\nexit 1\n', '/');
    chmodSync(join(f.root, '.git', 'hooks', 'pre-commit'), 0o755);
    f.write('new/file.txt', 'new\n', wt.path);
    f.write('a.txt', 'changed\n', wt.path);
    f.git(['rm', '-q', 'b.txt'], wt.path);
    const commit = await repo.commitAll(wt.path, 'agent work');
    assert.ok(commit);
    assert.equal(f.git(['rev-parse', 'foreman/r1/t1']).trim(), commit);
    assert.equal(
      f.git(['log', '-1', '--format=%an <%ae>|%cn <%ce>|%s', commit]).trim(),
      'Foreman <foreman@localhost>|Foreman <foreman@localhost>|agent work',
    );
    assert.deepEqual(await repo.changedFiles(base, commit), ['a.txt', 'b.txt', 'new/file.txt']);
    assert.equal(f.git(['status', '--porcelain'], wt.path), '');
    assert.equal(f.git(['rev-parse', 'main']).trim(), base, "the developer's branch does not move");
  } finally {
    f.cleanup();
  }
});

test('commitAll keeps a model-written message as written: quotes, $(…), backticks and lines run nothing', async () => {
  const { f, repo, base } = await makeTwoFileRepo();
  try {
    const wt = await repo.ensureWorktree('r1', 't1', base, null);
    f.write('c.txt', 'c\n', wt.path);
    const probe = join(f.root, 'ran');
    const message = `it's "done" $(touch ${probe}) \`touch ${probe}\`\n\n; touch ${probe} #`;
    const commit = await repo.commitAll(wt.path, message);
    assert.ok(commit);
    assert.equal(f.git(['log', '-1', '--format=%B', commit]).trim(), message.trim());
    assert.equal(existsSync(probe), false, 'nothing in the message was run');
    assert.deepEqual(await repo.changedFiles(`${commit}~1`, commit), ['c.txt']);
  } finally {
    f.cleanup();
  }
});

test('branchHead and diff', async () => {
  const { f, repo, base } = await makeTwoFileRepo();
  try {
    assert.equal(await repo.branchHead('main'), base);
    assert.equal(await repo.branchHead('no/such/branch'), null);
    const branch = await taskWithChange(repo, f, base, 't1', { 'a.txt': 'x\n'.repeat(200) });
    const full = await repo.diff(base, branch, 100_000);
    assert.match(full, /^diff --git a\/a\.txt b\/a\.txt/);
    assert.doesNotMatch(full, /diff cut/);
    const cut = await repo.diff(base, branch, 200);
    assert.ok(cut.length < 300);
    assert.match(cut, /\[diff cut: \d+ of \d+ characters not shown\]\n$/);
  } finally {
    f.cleanup();
  }
});

test('merge makes a merge commit, and merging again reports alreadyMerged', async () => {
  const { f, repo, base } = await makeTwoFileRepo();
  try {
    const integration = await repo.ensureWorktree('r1', 'integration', base, null);
    const branch = await taskWithChange(repo, f, base, 't1', { 'c.txt': 'c\n' });
    const merged = await repo.merge(integration.path, branch, 'Merge t1');
    assert.ok(merged.ok);
    assert.equal(merged.alreadyMerged, false);
    assert.equal(f.git(['rev-parse', 'HEAD'], integration.path).trim(), merged.commit);
    assert.equal(f.git(['log', '-1', '--format=%P|%s|%an', merged.commit]).trim().split('|')[0].split(' ').length, 2);
    assert.equal(f.git(['log', '-1', '--format=%s|%an', merged.commit]).trim(), 'Merge t1|Foreman');
    assert.equal(f.read('c.txt', integration.path), 'c\n');
    const again = await repo.merge(integration.path, branch, 'Merge t1 again');
    assert.deepEqual(again, { ok: true, commit: merged.commit, alreadyMerged: true });
  } finally {
    f.cleanup();
  }
});

test('a conflicting merge is aborted and leaves the target exactly as it was', async () => {
  const { f, repo, base } = await makeTwoFileRepo();
  try {
    const integration = await repo.ensureWorktree('r1', 'integration', base, null);
    const one = await taskWithChange(repo, f, base, 't1', { 'a.txt': 'line 1\nfrom t1\n' });
    const two = await taskWithChange(repo, f, base, 't2', { 'a.txt': 'line 1\nfrom t2\n', 'd.txt': 'd\n' });
    assert.ok((await repo.merge(integration.path, one, 'Merge t1')).ok);
    const head = f.git(['rev-parse', 'HEAD'], integration.path).trim();
    const result = await repo.merge(integration.path, two, 'Merge t2');
    assert.equal(result.ok, false);
    if (result.ok) return;
    assert.equal(result.reason, 'conflict');
    assert.deepEqual(result.files, ['a.txt']);
    assert.equal(f.git(['rev-parse', 'HEAD'], integration.path).trim(), head);
    assert.equal(f.git(['status', '--porcelain', '--untracked-files=all'], integration.path), '');
    assert.equal(f.read('a.txt', integration.path), 'line 1\nfrom t1\n');
    assert.equal(existsSync(join(integration.path, 'd.txt')), false);
    assert.throws(() => f.git(['rev-parse', '-q', '--verify', 'MERGE_HEAD'], integration.path));
  } finally {
    f.cleanup();
  }
});
