import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWorktreeFs } from '../../src/infra/sandboxFs';
import type { WorktreeFs } from '../../src/core/ports';

// Layout: <base>/wt is the worktree; <base>/outside is a sibling holding a file we must never touch.
let base = '';
let wt = '';
let outside = '';
let secretFile = '';
const SECRET = 'top secret\n';
let fs: WorktreeFs;

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'foreman-sandbox-'));
  wt = join(base, 'wt');
  outside = join(base, 'outside');
  await mkdir(join(wt, 'src', 'nested'), { recursive: true });
  await mkdir(outside);
  secretFile = join(outside, 'secret.txt');
  await writeFile(secretFile, SECRET);
  await writeFile(join(wt, 'a.txt'), 'one\ntwo\nthree\nfour\n');
  await writeFile(join(wt, 'src', 'main.ts'), 'export const x = 1;\n// TODO: more\n');
  await writeFile(join(wt, 'src', 'nested', 'deep.ts'), 'const todo = "TODO";\n');
  await writeFile(join(wt, 'bin.dat'), Buffer.from([1, 2, 0, 3, 84, 79, 68, 79]));
  await mkdir(join(wt, 'node_modules', 'dep'), { recursive: true });
  await writeFile(join(wt, 'node_modules', 'dep', 'i.js'), '// TODO in dependency\n');
  await writeFile(join(wt, '.git'), 'gitdir: /somewhere/else\n');
  await symlink(secretFile, join(wt, 'link-to-secret'));
  await symlink(outside, join(wt, 'link-dir'));
  await symlink(join(outside, 'not-yet'), join(wt, 'dangling'));
  await symlink(join(wt, 'a.txt'), join(wt, 'inner-link'));
  fs = await createWorktreeFs(wt);
});

after(async () => {
  await rm(base, { recursive: true, force: true });
});

async function outsideUnchanged(): Promise<void> {
  assert.equal(await readFile(secretFile, 'utf8'), SECRET);
  assert.deepEqual((await readdir(outside)).sort(), ['secret.txt']);
}

test('escaping paths are refused for reads', async () => {
  for (const p of [
    '../outside/secret.txt',
    '/etc/passwd',
    secretFile,
    'src/../../outside/secret.txt',
    'link-to-secret',
    'link-dir/secret.txt',
  ]) {
    const r = await fs.readFile(p);
    assert.equal(r.ok, false, p);
    if (!r.ok) assert.equal(r.reason, 'outside', p);
  }
  for (const p of ['..', outside, 'link-dir', '/']) {
    const r = await fs.listDir(p);
    assert.ok(!r.ok && r.reason === 'outside', p);
  }
  const s = await fs.search('secret', { path: 'link-dir' });
  assert.ok(!s.ok && s.reason === 'outside');
});

test('escaping paths are refused for writes and the outside stays byte-for-byte the same', async () => {
  const targets = [
    '../outside/secret.txt',
    '../outside/new.txt',
    secretFile,
    join(outside, 'new.txt'),
    'link-to-secret',
    'link-dir/secret.txt',
    'link-dir/new.txt',
    'link-dir/sub/new.txt',
    'dangling',
    'dangling/child.txt',
  ];
  for (const p of targets) {
    const r = await fs.writeFile(p, 'pwned\n');
    assert.ok(!r.ok && r.reason === 'outside', `${p}: ${JSON.stringify(r)}`);
  }
  await outsideUnchanged();
});

test('a symlink created to point outside after the sandbox was made is refused', async () => {
  await symlink(outside, join(wt, 'late-link'));
  try {
    const w = await fs.writeFile('late-link/secret.txt', 'pwned\n');
    assert.ok(!w.ok && w.reason === 'outside');
    const r = await fs.readFile('late-link/secret.txt');
    assert.ok(!r.ok && r.reason === 'outside');
    await outsideUnchanged();
  } finally {
    await rm(join(wt, 'late-link'));
  }
});

test('.git is never written', async () => {
  for (const p of ['.git', '.git/config', 'src/../.git/hooks/pre-commit']) {
    const r = await fs.writeFile(p, 'x');
    assert.ok(!r.ok, p);
  }
  assert.equal(await readFile(join(wt, '.git'), 'utf8'), 'gitdir: /somewhere/else\n');
  const repo = join(base, 'repo');
  await mkdir(join(repo, '.git', 'hooks'), { recursive: true });
  const repoFs = await createWorktreeFs(repo);
  for (const p of ['.git/config', '.git/hooks/pre-commit', 'sub/.git/x']) {
    const r = await repoFs.writeFile(p, 'x');
    assert.ok(!r.ok && r.reason === 'outside', p);
  }
  assert.deepEqual(await readdir(join(repo, '.git', 'hooks')), []);
  assert.ok((await repoFs.writeFile('.gitignore', 'dist\n')).ok, '.gitignore is an ordinary file');
});

test('reads whole files and 1-based inclusive line ranges', async () => {
  const all = await fs.readFile('a.txt');
  assert.deepEqual(all, { ok: true, text: 'one\ntwo\nthree\nfour\n', totalLines: 4 });
  assert.deepEqual(await fs.readFile('a.txt', { startLine: 2, endLine: 3 }), {
    ok: true,
    text: 'two\nthree\n',
    totalLines: 4,
  });
  assert.deepEqual(await fs.readFile('a.txt', { startLine: 3, endLine: 99 }), {
    ok: true,
    text: 'three\nfour\n',
    totalLines: 4,
  });
  assert.deepEqual(await fs.readFile(join(wt, 'a.txt'), { startLine: 4 }), { ok: true, text: 'four\n', totalLines: 4 });
  const past = await fs.readFile('a.txt', { startLine: 9 });
  assert.ok(!past.ok && past.reason === 'invalid');
  const backwards = await fs.readFile('a.txt', { startLine: 3, endLine: 2 });
  assert.ok(!backwards.ok && backwards.reason === 'invalid');
  const viaLink = await fs.readFile('inner-link');
  assert.ok(viaLink.ok && viaLink.totalLines === 4, 'a link that stays inside is fine');
});

test('refusals for missing, directories, binary and too large files', async () => {
  const missing = await fs.readFile('nope.txt');
  assert.ok(!missing.ok && missing.reason === 'not_found');
  const dir = await fs.readFile('src');
  assert.ok(!dir.ok && dir.reason === 'not_a_file');
  const bin = await fs.readFile('bin.dat');
  assert.ok(!bin.ok && bin.reason === 'not_a_file');
  const notDir = await fs.listDir('a.txt');
  assert.ok(!notDir.ok && notDir.reason === 'not_a_directory');
  const small = await createWorktreeFs(wt, { maxReadBytes: 10 });
  const big = await small.readFile('a.txt');
  assert.ok(!big.ok && big.reason === 'too_large');
  const part = await small.readFile('a.txt', { startLine: 1, endLine: 1 });
  assert.ok(part.ok && part.text === 'one\n');
});

test('listDir is sorted and typed', async () => {
  const r = await fs.listDir('');
  assert.ok(r.ok);
  const names = r.entries.map((e) => e.name);
  assert.deepEqual(names, [...names].sort());
  assert.deepEqual(
    r.entries.find((e) => e.name === 'src'),
    { name: 'src', type: 'dir' },
  );
  assert.deepEqual(
    r.entries.find((e) => e.name === 'a.txt'),
    { name: 'a.txt', type: 'file' },
  );
  assert.deepEqual(
    r.entries.find((e) => e.name === 'link-dir'),
    { name: 'link-dir', type: 'link' },
  );
  const sub = await fs.listDir('src');
  assert.ok(sub.ok);
  assert.deepEqual(sub.entries, [
    { name: 'main.ts', type: 'file' },
    { name: 'nested', type: 'dir' },
  ]);
});

test('search: fixed strings, regex, skipping node_modules, binaries and links; capped', async () => {
  const r = await fs.search('TODO');
  assert.ok(r.ok);
  assert.deepEqual(r.matches, [
    { path: 'src/main.ts', line: 2, text: '// TODO: more' },
    { path: 'src/nested/deep.ts', line: 1, text: 'const todo = "TODO";' },
  ]);
  assert.equal(r.truncated, false);
  const literal = await fs.search('x = 1;');
  assert.ok(literal.ok && literal.matches.length === 1);
  const dotLiteral = await fs.search('.*');
  assert.ok(dotLiteral.ok && dotLiteral.matches.length === 0, 'fixed string by default');
  const re = await fs.search('^export\\s+const', { regex: true });
  assert.ok(re.ok && re.matches.length === 1 && re.matches[0].path === 'src/main.ts');
  const scoped = await fs.search('TODO', { path: 'src/nested' });
  assert.ok(scoped.ok && scoped.matches.length === 1);
  const capped = await fs.search('TODO', { maxResults: 1 });
  assert.ok(capped.ok && capped.matches.length === 1 && capped.truncated);
  const bad = await fs.search('(', { regex: true });
  assert.ok(!bad.ok && bad.reason === 'invalid');
});

test('writes create parent directories and report created', async () => {
  const first = await fs.writeFile('new/dir/file.txt', 'héllo\n');
  assert.deepEqual(first, { ok: true, bytes: 7, created: true });
  assert.equal(await readFile(join(wt, 'new', 'dir', 'file.txt'), 'utf8'), 'héllo\n');
  const second = await fs.writeFile(join(wt, 'new', 'dir', 'file.txt'), 'bye\n');
  assert.deepEqual(second, { ok: true, bytes: 4, created: false });
  assert.equal(await readFile(join(wt, 'new', 'dir', 'file.txt'), 'utf8'), 'bye\n');
  const onDir = await fs.writeFile('src', 'x');
  assert.ok(!onDir.ok && onDir.reason === 'not_a_file');
  assert.equal(existsSync(join(outside, 'file.txt')), false);
});

test('a FIFO is refused at once, never waited on', { timeout: 10_000 }, async () => {
  const { execFileSync } = await import('node:child_process');
  execFileSync('mkfifo', [join(wt, 'pipe')]);
  try {
    const r = await fs.readFile('pipe');
    assert.ok(!r.ok && r.reason === 'not_a_file', JSON.stringify(r));
    const w = await fs.writeFile('pipe', 'x');
    assert.ok(!w.ok && w.reason === 'not_a_file', JSON.stringify(w));
    const s = await fs.search('anything');
    assert.ok(s.ok);
  } finally {
    await rm(join(wt, 'pipe'));
  }
});

test('large files (read on the thread pool) come back whole and in line ranges', async () => {
  const line = `${'x'.repeat(99)}\n`;
  const big = Array.from({ length: 4000 }, (_, i) => `${String(i + 1).padStart(5, '0')}${line}`).join('');
  await writeFile(join(wt, 'big.txt'), big);
  try {
    const all = await fs.readFile('big.txt');
    assert.ok(all.ok && all.text === big && all.totalLines === 4000);
    const part = await fs.readFile('big.txt', { startLine: 3999, endLine: 4000 });
    assert.ok(part.ok && part.text === `03999${line}04000${line}`);
    const found = await fs.search('03999');
    assert.ok(
      found.ok && found.matches.length === 1 && found.matches[0].path === 'big.txt' && found.matches[0].line === 3999,
    );
  } finally {
    await rm(join(wt, 'big.txt'));
  }
});

test('a search over a big tree hands the event loop back while it runs, and finds everything', async () => {
  const tree = join(wt, 'tree');
  for (let d = 0; d < 30; d++) {
    await mkdir(join(tree, `d${d}`), { recursive: true });
    await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        writeFile(join(tree, `d${d}`, `f${i}.ts`), `// file ${d}/${i}\nexport const needle${i} = ${d};\n`),
      ),
    );
  }
  try {
    let turns = 0;
    let running = true;
    const tick = (): void => {
      turns++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    const r = await fs.search('export const needle', { path: 'tree', maxResults: 10_000 });
    running = false;
    assert.ok(r.ok && !r.truncated);
    assert.equal(r.matches.length, 3000);
    assert.deepEqual(r.matches[0], { path: 'tree/d0/f0.ts', line: 2, text: 'export const needle0 = 0;' });
    assert.ok(turns > 1, `the loop ran ${turns} turn(s) during a 3000-file search`);
  } finally {
    await rm(tree, { recursive: true, force: true });
  }
});

test('a directory swapped for a link to the outside while reading and writing never leaks or clobbers the outside', async () => {
  const { spawn } = await import('node:child_process');
  const swap = join(wt, 'swap');
  const parked = join(wt, 'swap-parked');
  const decoy = join(base, 'decoy');
  await mkdir(swap);
  await mkdir(decoy);
  await writeFile(join(swap, 'f.txt'), 'inside\n');
  await writeFile(join(decoy, 'f.txt'), SECRET);
  const script = `const fs = require('fs'); const [dir, parked, target] = process.argv.slice(1); const end = Date.now() + 1500;
    while (Date.now() < end) { try { fs.renameSync(dir, parked); fs.symlinkSync(target, dir); fs.unlinkSync(dir); fs.renameSync(parked, dir); } catch {} }`;
  const child = spawn(process.execPath, ['-e', script, swap, parked, decoy], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const seen = new Set<string>();
    let running = true;
    void exited.then(() => (running = false));
    while (running) {
      const r = await fs.readFile('swap/f.txt');
      seen.add(r.ok ? r.text : r.reason);
      assert.ok(!r.ok || r.text === 'inside\n' || r.text === '', `read leaked: ${JSON.stringify(r)}`);
      await fs.writeFile('swap/f.txt', 'inside\n');
      assert.equal(await readFile(join(decoy, 'f.txt'), 'utf8'), SECRET, 'the outside file was changed');
    }
    assert.ok(seen.has('inside\n'), [...seen].join(', '));
  } finally {
    child.kill();
    await exited;
    await rm(decoy, { recursive: true, force: true });
    await rm(swap, { recursive: true, force: true });
    await rm(parked, { recursive: true, force: true });
  }
});
