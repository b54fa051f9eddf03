/**
 * Foreman's own git runs no program the repository configures and never with Foreman's
 * environment. A repository is armed the way a prompt-injected agent would arm it: every hook that
 * Foreman's commands could trigger, a clean/smudge filter on every file, an fsmonitor, a global
 * hooks path; each writes its environment to a file. Then Foreman does everything it does with
 * git — worktree, commit, merge, diff, apply, remove. A merge driver, the one program of the
 * repository's that still runs, shows that a canary secret in Foreman's environment does not reach it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeFixture } from './gitFixtures';
import type { Fixture } from './gitFixtures';

const CANARY = 'canary-secret-4b1d';
const HOOKS = ['post-commit', 'post-checkout', 'post-merge', 'reference-transaction', 'pre-commit', 'post-rewrite'];

/** A program that records that it ran, and with which environment, in `dir`; a filter passes its input on. */
function recorder(f: Fixture, dir: string, name: string, filter = false): string {
  const path = join(f.tmp, 'programs', name);
  f.write(path, `#!/bin/sh\nenv > "${dir}/${name}.$$"\n${filter ? 'cat' : 'exit 0'}\n`, '/');
  chmodSync(path, 0o755);
  return path;
}

function arm(f: Fixture, dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const hook of HOOKS) {
    f.write(join(f.root, '.git', 'hooks', hook), `#!/bin/sh\nenv > "${dir}/hook-${hook}.$$"\n`, '/');
    chmodSync(join(f.root, '.git', 'hooks', hook), 0o755);
  }
  const other = join(f.tmp, 'other-hooks');
  for (const hook of HOOKS) {
    f.write(join(other, hook), `#!/bin/sh\nenv > "${dir}/hookspath-${hook}.$$"\n`, '/');
    chmodSync(join(other, hook), 0o755);
  }
  f.git(['config', 'core.hooksPath', other]);
  f.git(['config', 'filter.evil.clean', recorder(f, dir, 'clean', true)]);
  f.git(['config', 'filter.evil.smudge', recorder(f, dir, 'smudge', true)]);
  f.git(['config', 'filter.evil.required', 'true']);
  f.git(['config', 'core.fsmonitor', recorder(f, dir, 'fsmonitor')]);
  f.write('.gitattributes', '* filter=evil\n');
}

/** Runs `body` with a canary API key in this process's environment, then puts it back. */
async function withCanaryKey(body: () => Promise<void>): Promise<void> {
  const saved = process.env.FOREMAN_API_KEY;
  process.env.FOREMAN_API_KEY = CANARY;
  try {
    await body();
  } finally {
    if (saved === undefined) delete process.env.FOREMAN_API_KEY;
    else process.env.FOREMAN_API_KEY = saved;
  }
}

test("Foreman's git runs no hook, filter or fsmonitor the repository configures", async () => {
  const f = makeFixture();
  try {
    const ran = join(f.tmp, 'ran');
    f.write('a.txt', 'one\n');
    f.git(['add', '-A']);
    f.git(['-c', 'core.hooksPath=/dev/null', 'commit', '-q', '-m', 'files']);
    arm(f, ran);
    const quiet = ['-c', 'core.hooksPath=/dev/null', '-c', 'filter.evil.clean=cat', '-c', 'core.fsmonitor=false'];
    f.git([...quiet, 'add', '-A']);
    f.git([...quiet, 'commit', '-q', '-m', 'attributes']);
    const base = f.git(['rev-parse', 'HEAD']).trim();
    assert.deepEqual(readdirSync(ran), [], 'nothing ran while the test armed the repository');

    const repo = await f.open();
    const wt = await repo.ensureWorktree('r1', 't1', base, null);
    f.write('a.txt', 'two\n', wt.path);
    const commit = await repo.commitAll(wt.path, 'agent work');
    assert.ok(commit);
    const integration = await repo.ensureWorktree('r1', 'integration', base, null);
    const merged = await repo.merge(integration.path, 'foreman/r1/t1', 'merge t1');
    assert.ok(merged.ok);
    assert.match(await repo.diff(base, 'foreman/r1/integration', 10_000), /\+two/);
    const applied = await repo.apply('foreman/r1/integration', base, 'squash', 'apply r1');
    assert.ok(applied.ok);
    await repo.removeWorktree(wt.path, { deleteBranch: null });
    await repo.removeWorktree(integration.path, { deleteBranch: null });

    assert.deepEqual(readdirSync(ran), [], 'no hook, filter or fsmonitor ran');
    assert.equal(f.read('a.txt'), 'two\n', 'the work reached the developer branch');
  } finally {
    f.cleanup();
  }
});

test("a merge driver the developer configured runs, but without Foreman's environment", async () => {
  const f = makeFixture();
  try {
    const envFile = join(f.tmp, 'merge-driver-env');
    f.write('m.txt', 'one\ntwo\nthree\nfour\nfive\n');
    f.write('.gitattributes', 'm.txt merge=recording\n');
    f.git(['add', '-A']);
    f.git(['-c', 'core.hooksPath=/dev/null', 'commit', '-q', '-m', 'm']);
    f.git(['config', 'merge.recording.driver', `env > "${envFile}"; git merge-file %A %O %B`]);
    const base = f.git(['rev-parse', 'HEAD']).trim();
    const repo = await f.open();
    const integration = await repo.ensureWorktree('r1', 'integration', base, null);
    f.write('m.txt', 'ONE\ntwo\nthree\nfour\nfive\n', integration.path);
    assert.ok(await repo.commitAll(integration.path, 'integration side'));
    const task = await repo.ensureWorktree('r1', 't1', base, null);
    f.write('m.txt', 'one\ntwo\nthree\nfour\nFIVE\n', task.path);
    assert.ok(await repo.commitAll(task.path, 'task side'));
    await withCanaryKey(async () => {
      assert.ok((await repo.merge(integration.path, 'foreman/r1/t1', 'merge t1')).ok);
    });
    assert.equal(f.read('m.txt', integration.path), 'ONE\ntwo\nthree\nfour\nFIVE\n');
    const env = f.read(envFile, '/');
    assert.match(env, /^PATH=/m, 'the driver ran');
    assert.doesNotMatch(env, new RegExp(CANARY), "the secret in Foreman's environment did not reach it");
  } finally {
    f.cleanup();
  }
});

test("the armed repository's programs do run under plain git, so the test above can fail", () => {
  const f = makeFixture();
  try {
    const ran = join(f.tmp, 'ran');
    arm(f, ran);
    f.git(['add', '-A']);
    f.git(['commit', '-q', '-m', 'attributes']);
    const names = readdirSync(ran).map((n) => n.replace(/\.\d+$/, ''));
    assert.ok(names.includes('clean'), names.join());
    assert.ok(names.includes('hookspath-post-commit'), names.join());
    assert.ok(existsSync(ran));
  } finally {
    f.cleanup();
  }
});
