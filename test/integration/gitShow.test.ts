/**
 * Reading files at commits and listing changes between commits, against real repositories built by
 * the test with git itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { commitAllAsDev, makeFixture } from './gitFixtures';
import { GitCommandError } from '../../src/infra/gitExec';
import {
  fileAtCommitText,
  diffLineStat,
  formatBytes,
  listChangedFiles,
  parseNameStatus,
  readFileAtCommit,
  resolveCommit,
} from '../../src/infra/gitShow';

test('listChangedFiles names added, modified, deleted and renamed files, paths as they are', async () => {
  const f = makeFixture();
  try {
    f.write('keep.txt', 'one\ntwo\n');
    f.write('gone.txt', 'to be deleted\n');
    f.write('old name.txt', 'a body long enough that git sees the rename as one\n'.repeat(5));
    const base = commitAllAsDev(f, 'base');
    f.write('keep.txt', 'one\ntwo\nthree\n');
    f.git(['rm', '-q', 'gone.txt']);
    f.write('dir/new [name] ü.txt', f.read('old name.txt'));
    f.git(['rm', '-q', 'old name.txt']);
    f.write('added\ttab.txt', 'new\n');
    const next = commitAllAsDev(f, 'change');
    const files = await listChangedFiles(f.root, base, next);
    const byPath = new Map(files.map((c) => [c.path, c]));
    assert.deepEqual(byPath.get('keep.txt'), { kind: 'M', path: 'keep.txt', oldPath: null });
    assert.deepEqual(byPath.get('gone.txt'), { kind: 'D', path: 'gone.txt', oldPath: null });
    assert.deepEqual(byPath.get('dir/new [name] ü.txt'), {
      kind: 'R',
      path: 'dir/new [name] ü.txt',
      oldPath: 'old name.txt',
    });
    assert.deepEqual(byPath.get('added\ttab.txt'), { kind: 'A', path: 'added\ttab.txt', oldPath: null });
    assert.equal(files.length, 4);
    assert.deepEqual(await listChangedFiles(f.root, next, next), []);
    assert.deepEqual(await listChangedFiles(f.root, base, 'main'), files, 'a branch name works as well as a commit');
    await assert.rejects(listChangedFiles(f.root, base, 'f'.repeat(40)), GitCommandError);
  } finally {
    f.cleanup();
  }
});

test('a copy is a plain addition whatever diff.renames says; copy and type-change records parse', async () => {
  const f = makeFixture();
  try {
    f.write('src.txt', 'copied content that is long enough to be detected\n'.repeat(5));
    const base = commitAllAsDev(f, 'base');
    f.write('src.txt', `${f.read('src.txt')}changed\n`);
    f.write('copy.txt', 'copied content that is long enough to be detected\n'.repeat(5));
    const next = commitAllAsDev(f, 'copy');
    f.git(['config', 'diff.renames', 'copies']);
    const files = await listChangedFiles(f.root, base, next);
    assert.deepEqual(files, [
      { kind: 'A', path: 'copy.txt', oldPath: null },
      { kind: 'M', path: 'src.txt', oldPath: null },
    ]);
    assert.deepEqual(parseNameStatus('T\0link\0C075\0a\0b\0'), [
      { kind: 'M', path: 'link', oldPath: null },
      { kind: 'A', path: 'b', oldPath: 'a' },
    ]);
  } finally {
    f.cleanup();
  }
});

test('readFileAtCommit returns text exactly, and null for a path the commit does not have', async () => {
  const f = makeFixture();
  try {
    f.write('a.txt', 'first\n');
    f.write('dir/b c[1]*.md', '# title\n\n\ntrailing blank lines\n\n\n');
    const base = commitAllAsDev(f, 'base');
    f.write('a.txt', 'second\n');
    f.git(['rm', '-q', 'dir/b c[1]*.md']);
    f.write('new.txt', 'no newline at the end');
    const next = commitAllAsDev(f, 'next');
    assert.deepEqual(await readFileAtCommit(f.root, base, 'a.txt'), { kind: 'text', text: 'first\n', size: 6 });
    assert.deepEqual(await readFileAtCommit(f.root, next, 'a.txt'), { kind: 'text', text: 'second\n', size: 7 });
    const special = await readFileAtCommit(f.root, base, 'dir/b c[1]*.md');
    assert.equal(
      special?.kind === 'text' && special.text,
      '# title\n\n\ntrailing blank lines\n\n\n',
      'a name with glob characters is a name',
    );
    assert.equal(await readFileAtCommit(f.root, base, 'dir/b c1.md'), null, 'no pattern matching');
    assert.equal(await readFileAtCommit(f.root, next, 'dir/b c[1]*.md'), null, 'deleted');
    assert.equal(await readFileAtCommit(f.root, base, 'new.txt'), null, 'not yet added');
    assert.equal(await readFileAtCommit(f.root, base, 'dir'), null, 'a directory is not a file');
    assert.equal(fileAtCommitText(await readFileAtCommit(f.root, next, 'new.txt')), 'no newline at the end');
    assert.equal(fileAtCommitText(null), '');
    await assert.rejects(readFileAtCommit(f.root, 'no-such-commit', 'a.txt'), GitCommandError);
  } finally {
    f.cleanup();
  }
});

test('binary files, files over the cap, symbolic links and submodules come back without their bytes', async () => {
  const f = makeFixture();
  try {
    f.write('image.png', '\x89PNG\r\n\x1a\n\0\0\0\rIHDR');
    f.write('big.txt', 'x'.repeat(3000));
    symlinkSync('big.txt', join(f.root, 'link'));
    const commit = commitAllAsDev(f, 'assets');
    f.git(['update-index', '--add', '--cacheinfo', `160000,${commit},vendor/lib`]);
    f.git(['commit', '-q', '-m', 'submodule']);
    const head = f.git(['rev-parse', 'HEAD']).trim();
    const binary = await readFileAtCommit(f.root, head, 'image.png');
    assert.equal(binary?.kind, 'binary');
    assert.match(fileAtCommitText(binary), /^\[binary file, \d+ bytes: not shown\]\n$/);
    const big = await readFileAtCommit(f.root, head, 'big.txt', { maxBytes: 1024 });
    assert.deepEqual(big, { kind: 'tooLarge', size: 3000, limit: 1024 });
    assert.equal(fileAtCommitText(big), '[file of 2.9 KiB, larger than the 1.0 KiB shown at most: not shown]\n');
    assert.equal((await readFileAtCommit(f.root, head, 'big.txt'))?.kind, 'text', 'under the default cap');
    assert.deepEqual(await readFileAtCommit(f.root, head, 'link'), { kind: 'symlink', target: 'big.txt' });
    assert.deepEqual(await readFileAtCommit(f.root, head, 'vendor/lib'), { kind: 'submodule', commit });
    assert.equal(formatBytes(1), '1 byte');
    assert.equal(formatBytes(5 * 1024 * 1024), '5.0 MiB');
  } finally {
    f.cleanup();
  }
});

test('resolveCommit resolves branches and commits, and is null for names that do not exist', async () => {
  const f = makeFixture();
  try {
    const head = f.git(['rev-parse', 'HEAD']).trim();
    f.git(['branch', 'foreman/r1/integration']);
    assert.equal(await resolveCommit(f.root, 'foreman/r1/integration'), head);
    assert.equal(await resolveCommit(f.root, head.slice(0, 12)), head);
    assert.equal(await resolveCommit(f.root, 'foreman/r1/missing'), null);
    assert.equal(await resolveCommit(f.root, '--all'), null, 'an option-like name is a name');
  } finally {
    f.cleanup();
  }
});

test('diffLineStat counts lines added and removed, a rename once under its new name, a binary file without lines', async () => {
  const f = makeFixture();
  try {
    f.write('keep.txt', 'one\ntwo\nthree\n');
    f.write('old name.txt', 'a body long enough that git sees the rename as one\n'.repeat(5));
    const base = commitAllAsDev(f, 'base');
    f.write('keep.txt', 'one\nTWO\nthree\nfour\n');
    f.write('dir/new ü.txt', f.read('old name.txt'));
    f.git(['rm', '-q', 'old name.txt']);
    f.write('blob.bin', 'a\0b\0c');
    const next = commitAllAsDev(f, 'change');
    const stat = await diffLineStat(f.root, base, next);
    assert.deepEqual([...stat.files].sort(), ['blob.bin', 'dir/new ü.txt', 'keep.txt']);
    assert.deepEqual(
      [stat.added, stat.removed],
      [2, 1],
      'keep.txt: two lines in, one out; the rename and the binary none',
    );
    assert.deepEqual(await diffLineStat(f.root, next, next), { files: [], added: 0, removed: 0 });
    await assert.rejects(diffLineStat(f.root, base, 'f'.repeat(40)), GitCommandError);
  } finally {
    f.cleanup();
  }
});
