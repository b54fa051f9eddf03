import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gitDirChanges } from '../../src/core/gitDirGuard';
import type { SharedGitState } from '../../src/core/repoPort';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const before: SharedGitState = {
  files: { config: 'c1', 'hooks/pre-commit.sample': 'h1' },
  refs: {
    HEAD: { value: `ref: refs/heads/main ${A}`, logged: true },
    'refs/heads/main': { value: A, logged: true },
    'refs/heads/topic': { value: A, logged: false },
  },
};

test('nothing changed: no changes', () => {
  assert.deepEqual(gitDirChanges(before, before), []);
});

test('files added, removed and changed are each named', () => {
  const after = { ...before, files: { config: 'c2', 'hooks/post-commit': 'h2' } };
  assert.deepEqual(gitDirChanges(before, after), [
    'config was changed',
    'hooks/post-commit was added',
    'hooks/pre-commit.sample was removed',
  ]);
});

test('a ref moved with a reflog entry passes; without one, or deleted, or new and unlogged, it is named', () => {
  const after: SharedGitState = {
    files: before.files,
    refs: {
      HEAD: { value: `ref: refs/heads/main ${B}`, logged: true },
      'refs/heads/main': { value: B, logged: true },
      'refs/heads/planted': { value: B, logged: false },
    },
  };
  assert.deepEqual(gitDirChanges(before, after), [
    'refs/heads/planted appeared without a reflog entry',
    'refs/heads/topic was deleted',
  ]);
  const raw = { ...after, refs: { ...before.refs, 'refs/heads/main': { value: B, logged: false } } };
  assert.deepEqual(gitDirChanges(before, raw), [
    'refs/heads/main moved from aaaaaaaaaa to bbbbbbbbbb without a reflog entry',
  ]);
});
