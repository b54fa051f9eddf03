import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildRepoView, type RepoReader } from '../../src/core/repoView';

/** An in-memory repository; `null` content stands for a binary file. */
function memoryReader(files: Record<string, string | null>, order?: string[]): RepoReader & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    async listFiles() {
      return order ?? Object.keys(files);
    },
    async readText(path, maxBytes) {
      reads.push(path);
      const text = files[path];
      if (text === undefined || text === null) return null;
      return Buffer.from(text).subarray(0, maxBytes).toString('utf8');
    },
  };
}

const small = {
  'src/b.ts': 'b',
  'src/a.ts': 'a',
  'src/util/z.ts': 'z',
  'package.json': '{}',
  'README.md': '# Demo\n\nA demo project.\r\n',
  'CONTRIBUTING.md': 'Contribute kindly.',
  'AGENTS.md': 'Run npm test before committing.',
};

test('the view lists the sorted tree, then the README, then the preferred conventions file', async () => {
  const view = await buildRepoView(memoryReader(small));
  const expected = [
    '## Files (7)',
    'src/',
    '  util/',
    '    z.ts',
    '  a.ts',
    '  b.ts',
    'AGENTS.md',
    'CONTRIBUTING.md',
    'README.md',
    'package.json',
    '',
    '## README.md',
    '# Demo',
    '',
    'A demo project.',
    '',
    '## AGENTS.md',
    'Run npm test before committing.',
    '',
  ].join('\n');
  assert.equal(view, expected);
});

test('the same repository gives the same bytes whatever the listing order', async () => {
  const keys = Object.keys(small);
  const a = await buildRepoView(memoryReader(small, keys));
  const b = await buildRepoView(memoryReader(small, [...keys].reverse()));
  assert.equal(a, b);
});

test('an unreadable conventions file falls back to the next candidate', async () => {
  const view = await buildRepoView(memoryReader({ ...small, 'AGENTS.md': null, 'CLAUDE.md': 'Claude rules.' }));
  assert.match(view, /## CLAUDE\.md\nClaude rules\./);
  assert.doesNotMatch(view, /## AGENTS\.md/);
  assert.doesNotMatch(view, /## CONTRIBUTING\.md/);
});

test('a large repository is collapsed into directory counts within the budget', async () => {
  const files: Record<string, string> = { 'README.md': 'readme' };
  for (let i = 0; i < 400; i++) files[`packages/pkg${i % 8}/src/deep/file${i}.ts`] = '';
  for (let i = 0; i < 30; i++) files[`docs/page${i}.md`] = '';
  const view = await buildRepoView(memoryReader(files), { maxChars: 1500 });
  assert.ok(view.length <= 1500, `view is ${view.length} chars`);
  assert.match(view, /^## Files \(431\)\n/);
  assert.match(view, /\npackages\/\n {2}pkg0\/\n {4}src\/\n {6}deep\/ \(50 files\)\n {2}pkg1\/\n/);
  assert.match(view, /\n {2}page9\.md\n/, 'shallow directories stay expanded');
  assert.match(view, /## README\.md\nreadme\n/);
  const generous = await buildRepoView(memoryReader(files), { maxChars: 100000 });
  assert.match(generous, /file399\.ts/);
  assert.doesNotMatch(generous, /files\)/);
});

test('directories are collapsed only as deep as needed to fit', async () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 40; i++) files[`a/b/c/f${i}.ts`] = '';
  files['a/top.ts'] = '';
  const view = async (maxChars: number) => buildRepoView(memoryReader(files), { maxChars });
  assert.equal(await view(60), '## Files (41)\na/\n  b/\n    c/ (40 files)\n  top.ts\n');
  assert.equal(await view(45), '## Files (41)\na/\n  b/ (40 files)\n  top.ts\n');
  assert.equal(await view(35), '## Files (41)\na/ (41 files)\n');
});

test('a long README is truncated and the whole view respects a tiny budget', async () => {
  const long = Array.from({ length: 500 }, (_, i) => `line ${i} of the readme`).join('\n');
  const view = await buildRepoView(memoryReader({ 'README.md': long, 'a.ts': '' }), { maxChars: 2000 });
  assert.ok(view.length <= 2000);
  assert.match(view, /## README\.md\nline 0 of the readme\n/);
  assert.match(view, /\[… truncated\]\n$/);
  const tiny = await buildRepoView(memoryReader({ 'README.md': long, 'a.ts': '' }), { maxChars: 30 });
  assert.ok(tiny.length <= 30, tiny);
});

test('a huge flat directory keeps what fits and counts the rest', async () => {
  const files: Record<string, string> = {};
  for (let i = 0; i < 500; i++) files[`f${String(i).padStart(3, '0')}.ts`] = '';
  const view = await buildRepoView(memoryReader(files), { maxChars: 300 });
  assert.ok(view.length <= 300);
  assert.match(view, /^## Files \(500\)\nf000\.ts\nf001\.ts\n/);
  assert.match(view, /… \(\d+ more entries\)\n$/);
});
