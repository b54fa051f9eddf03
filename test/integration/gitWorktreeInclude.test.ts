import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectIncludedFiles, isIncluded, parseIncludeRules } from '../../src/infra/worktreeInclude';
import { copyIncludedFiles } from '../../src/infra/worktreeSetup';
import { commitAllAsDev, makeFixture } from './gitFixtures';

test('include patterns follow .gitignore syntax', () => {
  const rules = parseIncludeRules([
    '# comment',
    '',
    '.env*',
    '/root-only.txt',
    'build/',
    '!build/keep-out.txt',
    'docs/**/*.md',
    'data/file?.csv',
    'x[0-9].txt',
  ]);
  const cases: [string, boolean][] = [
    ['.env', true],
    ['pkg/.env.local', true],
    ['root-only.txt', true],
    ['sub/root-only.txt', false],
    ['build/out/a.js', true],
    ['build/keep-out.txt', false],
    ['build', false],
    ['docs/a.md', true],
    ['docs/deep/er/b.md', true],
    ['docs/a.txt', false],
    ['data/file1.csv', true],
    ['data/file10.csv', false],
    ['x7.txt', true],
    ['xa.txt', false],
    ['# comment', false],
  ];
  for (const [path, expected] of cases) assert.equal(isIncluded(rules, path, false), expected, path);
  assert.equal(isIncluded(rules, 'build', true), true);
});

test('collecting never lists tracked files or .git, and copying never follows links out of either tree', async () => {
  const f = makeFixture();
  try {
    const outside = join(f.tmp, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret.local'), 'outside the repository\n');
    f.write('tracked.local', 'tracked\n');
    f.write('.gitignore', '*.local\nlinks/\n');
    f.git(['add', '--force', 'tracked.local']);
    const base = commitAllAsDev(f, 'tracked');
    f.write('inside.local', 'inside\n');
    f.write('sub/nested.local', 'nested\n');
    mkdirSync(join(f.root, 'links'));
    symlinkSync(join(outside, 'secret.local'), join(f.root, 'links', 'escape.local'));
    symlinkSync(join(f.root, 'inside.local'), join(f.root, 'links', 'internal.local'));
    symlinkSync(outside, join(f.root, 'links', 'dir-link'));
    const lines = ['*.local', 'links/'];
    assert.deepEqual(await collectIncludedFiles(f.root, lines), [
      'inside.local',
      'links/dir-link',
      'links/escape.local',
      'links/internal.local',
      'sub/nested.local',
    ]);

    const repo = await f.open();
    const wt = await repo.ensureWorktree('r1', 't1', base, null);
    // A worktree whose `sub` leads out of it: nothing may be written through it.
    const trap = join(f.tmp, 'trap');
    mkdirSync(trap);
    symlinkSync(trap, join(wt.path, 'sub'));
    const copied = await copyIncludedFiles(f.root, wt.path, lines);
    assert.deepEqual(copied, ['inside.local', 'links/internal.local']);
    assert.equal(readFileSync(join(wt.path, 'links', 'internal.local'), 'utf8'), 'inside\n');
    assert.equal(lstatSync(join(wt.path, 'links', 'internal.local')).isSymbolicLink(), false);
    assert.equal(existsSync(join(wt.path, 'links', 'escape.local')), false);
    assert.equal(existsSync(join(trap, 'nested.local')), false);
    assert.equal(readFileSync(join(wt.path, 'tracked.local'), 'utf8'), 'tracked\n');
  } finally {
    f.cleanup();
  }
});

test('by default nothing untracked is copied, a root .env included; named, it is', async () => {
  const f = makeFixture();
  try {
    f.write('.gitignore', '.env*\nsecrets/\n');
    const base = commitAllAsDev(f, 'ignore secrets');
    f.write('.env', 'DATABASE_URL=postgres://u:secret@db/app\n');
    f.write('.env.local', 'LOCAL=1\n');
    f.write('secrets/notes.txt', 'secret\n');
    f.write('draft.txt', 'untracked, not ignored\n');
    const repo = await f.open();
    const wt = await repo.ensureWorktree('r1', 't1', base, { include: null, command: null, timeoutMs: 1000 });
    assert.deepEqual(
      ['.env', '.env.local', 'secrets/notes.txt', 'draft.txt'].filter((rel) => existsSync(join(wt.path, rel))),
      [],
    );
    assert.deepEqual(await copyIncludedFiles(f.root, wt.path, null), [], 'no setting, no .worktreeinclude: none');
    assert.deepEqual(await copyIncludedFiles(f.root, wt.path, ['/.env']), ['.env'], 'the setting names one');
    f.write('.worktreeinclude', 'secrets/\n');
    assert.deepEqual(
      await copyIncludedFiles(f.root, wt.path, null),
      ['secrets/notes.txt'],
      '.worktreeinclude names one',
    );
  } finally {
    f.cleanup();
  }
});
