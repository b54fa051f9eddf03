/**
 * What a sandboxed command sees outside its scope: the hidden folders, and what of them its
 * environment brings back. The sandbox itself applies it in test/integration/sandbox.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SandboxScope } from '../../src/core/sandbox';
import { sandboxView } from '../../src/core/sandboxView';

const scope = (over: Partial<SandboxScope> = {}): SandboxScope => ({
  worktree: '/home/dev/.foreman/worktrees/app-1234/r1/t1',
  tmp: '/home/dev/code/app/.git/foreman/runs/r1/tmp/t1/tmp',
  cache: '/home/dev/code/app/.git/foreman/runs/r1/tmp/t1/cache',
  home: '/home/dev/code/app/.git/foreman/runs/r1/tmp/t1/home',
  readOnly: ['/home/dev/code/app/.git'],
  hidden: ['/home/dev/code/app', '/home/dev', '/tmp'],
  ...over,
});

test('the outermost hidden folders are hidden; nothing is brought back without a reason', () => {
  assert.deepEqual(sandboxView(scope(), { PATH: '/usr/local/bin:/usr/bin:/bin' }), {
    hidden: ['/home/dev', '/tmp'],
    shown: [],
  });
});

test("PATH folders in a hidden folder come back, with a toolchain's root for a bin folder", () => {
  const PATH = [
    '/home/dev/.nvm/versions/node/v20.11.0/bin',
    '/home/dev/.cargo/bin',
    '/home/dev/.pyenv/shims',
    '/home/dev/bin',
    '/home/dev/.local/bin',
    'relative/bin',
    '/usr/bin',
  ].join(':');
  assert.deepEqual(sandboxView(scope(), { PATH }).shown, [
    '/home/dev/.cargo',
    '/home/dev/.local/bin',
    '/home/dev/.local/share/pipx',
    '/home/dev/.nvm/versions/node/v20.11.0',
    '/home/dev/.pyenv/shims',
    '/home/dev/bin',
  ]);
});

test('a PATH naming a hidden folder itself does not bring it back; a variable naming it does', () => {
  assert.deepEqual(sandboxView(scope(), { PATH: '/home/dev:/tmp' }).shown, []);
  const setup = { PATH: '/usr/bin', REPO_PATH: '/home/dev/code/app', WORKTREE_PATH: '/elsewhere/wt' };
  assert.deepEqual(sandboxView(scope(), setup).shown, ['/home/dev/code/app']);
  const named = { RUSTUP_HOME: '/home/dev/.rustup', PYTHONPATH: '/home/dev/py/a:/opt/b', LANG: 'C.UTF-8' };
  assert.deepEqual(sandboxView(scope(), named).shown, ['/home/dev/.rustup', '/home/dev/py/a']);
});

test("HOME, TMPDIR and the cache folder are the task's own and bring nothing back", () => {
  const env = { HOME: '/home/dev', TMPDIR: '/tmp', XDG_CACHE_HOME: '/home/dev/.cache' };
  assert.deepEqual(sandboxView(scope(), env).shown, []);
});

test('never hidden: /, a folder holding the system, a folder inside the worktree', () => {
  const hidden = ['/', '/usr', '/usr/src/app', '/home/dev/.foreman/worktrees/app-1234/r1/t1/sub', 'relative', '/srv'];
  assert.deepEqual(sandboxView(scope({ hidden }), {}).hidden, ['/srv', '/usr/src/app']);
  // A home folder at / (some containers) hides nothing rather than the whole system.
  assert.deepEqual(sandboxView(scope({ hidden: ['/', '/tmp'] }), {}).hidden, ['/tmp']);
});
