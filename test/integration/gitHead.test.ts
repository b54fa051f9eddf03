import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { currentBranch } from '../../src/host/gitHead';
import { makeFixture } from './gitFixtures';

test('the branch checked out, a detached HEAD, a linked worktree, no repository', async () => {
  const fx = makeFixture();
  try {
    assert.equal(await currentBranch(fx.root), 'main');
    fx.git(['checkout', '-q', '-b', 'feature/x']);
    assert.equal(await currentBranch(fx.root), 'feature/x');
    fx.git(['checkout', '-q', '--detach']);
    assert.equal(await currentBranch(fx.root), null);
    const linked = join(fx.tmp, 'linked');
    fx.git(['worktree', 'add', '-q', '-b', 'side', linked]);
    assert.equal(await currentBranch(linked), 'side');
    assert.equal(await currentBranch(fx.tmp), null);
  } finally {
    fx.cleanup();
  }
});
