import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  JournalCorruptError,
  isValidRunId,
  listRunIds,
  newRunId,
  openJournal,
  readJournal,
  runJournalPath,
} from '../../src/infra/journalFile';
import type { JournalEvent } from '../../src/core/journal';

const repoRoot = resolve(__dirname, '..', '..');

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'foreman-journal-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function note(message: string): { type: 'note'; taskId: null; message: string } {
  return { type: 'note', taskId: null, message };
}

test('append then read round-trips events, numbered from 1 and stamped', async (t) => {
  const dir = tempDir(t);
  const path = runJournalPath(dir, 'r20260101-000000-abcd');
  let clock = 5000;
  const journal = openJournal(path, 'r20260101-000000-abcd', { now: () => clock++ });
  assert.equal(journal.runId, 'r20260101-000000-abcd');
  const first = journal.append({ type: 'run_resumed' });
  assert.deepEqual(first, { seq: 1, t: 5000, type: 'run_resumed' });
  const second = journal.append({
    type: 'task_status',
    taskId: 'a',
    status: 'working',
    reason: 'line\nbreak "quoted" ünïcode',
  });
  assert.equal(second.seq, 2);
  // The line is in the file as soon as append returns, before any flush.
  assert.equal(readFileSync(path, 'utf8').split('\n').length, 3);
  await journal.flush();
  journal.close();
  journal.close(); // idempotent

  const read = await readJournal(path);
  assert.equal(read.tornTail, null);
  assert.deepEqual(read.events, [first, second]);
});

test('append after close is refused with a clear error', (t) => {
  const journal = openJournal(join(tempDir(t), 'j.jsonl'), 'r1');
  journal.append(note('x'));
  journal.close();
  assert.equal(journal.closed, true);
  assert.throws(() => journal.append(note('y')), /closed/);
});

test('reopening continues the numbering after the last event', async (t) => {
  const path = join(tempDir(t), 'deep', 'er', 'journal.jsonl');
  const one = openJournal(path, 'r1');
  for (let i = 0; i < 3; i++) one.append(note(`first ${i}`));
  one.close();
  const two = openJournal(path, 'r1');
  assert.equal(two.lastSeq, 3);
  assert.equal(two.append(note('second')).seq, 4);
  two.close();
  const read = await readJournal(path);
  assert.deepEqual(
    read.events.map((e) => e.seq),
    [1, 2, 3, 4],
  );
});

test('a torn last line is ignored and reported, and reopening cuts it off', async (t) => {
  const path = join(tempDir(t), 'journal.jsonl');
  const journal = openJournal(path, 'r1');
  journal.append(note('a'));
  journal.append(note('b'));
  journal.close();
  appendFileSync(path, '{"seq":3,"t":1,"type":"note","taskId":null,"mess');

  const read = await readJournal(path);
  assert.deepEqual(
    read.events.map((e) => e.seq),
    [1, 2],
  );
  assert.deepEqual(read.tornTail, { line: 3, text: '{"seq":3,"t":1,"type":"note","taskId":null,"mess' });

  const again = openJournal(path, 'r1');
  assert.equal(again.append(note('c')).seq, 3);
  again.close();
  const healed = await readJournal(path);
  assert.equal(healed.tornTail, null);
  assert.deepEqual(
    healed.events.map((e) => (e as Extract<JournalEvent, { type: 'note' }>).message),
    ['a', 'b', 'c'],
  );
});

test('a complete last line without its newline, or a garbage last line, counts as torn', async (t) => {
  const dir = tempDir(t);
  const noNewline = join(dir, 'a.jsonl');
  writeFileSync(noNewline, '{"seq":1,"t":1,"type":"run_resumed"}\n{"seq":2,"t":1,"type":"run_resumed"}');
  assert.deepEqual((await readJournal(noNewline)).tornTail?.line, 2);
  const garbage = join(dir, 'b.jsonl');
  writeFileSync(garbage, '{"seq":1,"t":1,"type":"run_resumed"}\n\0\0\0\0\n');
  const read = await readJournal(garbage);
  assert.deepEqual([read.events.length, read.tornTail?.line], [1, 2]);
  const reopened = openJournal(garbage, 'r1');
  assert.equal(reopened.append(note('after')).seq, 2);
  reopened.close();
  assert.equal((await readJournal(garbage)).tornTail, null);
});

test('a corrupt line in the middle is an error naming its line number', async (t) => {
  const path = join(tempDir(t), 'journal.jsonl');
  writeFileSync(
    path,
    [
      '{"seq":1,"t":1,"type":"run_resumed"}',
      '{"seq":2,"t":1,"type":"run_res',
      '{"seq":3,"t":1,"type":"run_resumed"}',
      '',
    ].join('\n'),
  );
  await assert.rejects(readJournal(path), (err: unknown) => {
    assert.ok(err instanceof JournalCorruptError);
    assert.equal(err.line, 2);
    assert.match(err.message, /line 2/);
    return true;
  });
  const unordered = join(tempDir(t), 'journal.jsonl');
  writeFileSync(
    unordered,
    '{"seq":1,"t":1,"type":"run_resumed"}\n{"seq":1,"t":1,"type":"run_resumed"}\n{"seq":2,"t":1,"type":"run_resumed"}\n',
  );
  await assert.rejects(readJournal(unordered), /line 2 has seq 1/);
  await assert.rejects(readJournal(join(tempDir(t), 'missing.jsonl')), /ENOENT/);
});

test('a process killed with SIGKILL while appending leaves a journal that reads back and reopens', async (t) => {
  const path = join(tempDir(t), 'runs', 'r1', 'journal.jsonl');
  const modulePath = join(repoRoot, 'src', 'infra', 'journalFile.ts');
  const code = [
    `const { openJournal } = require(${JSON.stringify(modulePath)});`,
    `const j = openJournal(${JSON.stringify(path)}, 'r1');`,
    `const big = 'x'.repeat(200000);`,
    `for (let i = 1; ; i++) {`,
    `  j.append({ type: 'note', taskId: null, message: i % 3 ? 'small ' + i : big });`,
    `  if (i === 40) process.stdout.write('ready\\n');`,
    `}`,
  ].join('\n');
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', code], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<NodeJS.Signals | null>((done) => child.on('exit', (_code, signal) => done(signal)));
  await new Promise<void>((ready, fail) => {
    child.stdout.on('data', (d: Buffer) => (d.toString().includes('ready') ? ready() : undefined));
    child.on('exit', () => fail(new Error('child exited before it was ready')));
  });
  await new Promise((r) => setTimeout(r, 30));
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');

  const read = await readJournal(path);
  const n = read.events.length;
  assert.ok(n >= 40, `only ${n} events`);
  assert.deepEqual(
    read.events.map((e) => e.seq),
    Array.from({ length: n }, (_, i) => i + 1),
  );
  const reopened = openJournal(path, 'r1');
  assert.equal(reopened.append(note('after the crash')).seq, n + 1);
  reopened.close();
  const after = await readJournal(path);
  assert.equal(after.tornTail, null);
  assert.equal(after.events.length, n + 1);
  assert.ok(statSync(path).size > 0);
});

test('run ids: format, validity, journal paths and newest-first listing', async (t) => {
  const id = newRunId(new Date(Date.UTC(2026, 10, 23, 9, 42, 7)));
  assert.match(id, /^r20261123-094207-[0-9a-f]{4}$/);
  assert.equal(isValidRunId(id), true);
  for (const bad of ['', '..', '../x', 'a/b', '-x', 'a b']) assert.equal(isValidRunId(bad), false, bad);
  assert.throws(() => runJournalPath('/s', '../../etc'), /not a valid run id/);
  assert.equal(runJournalPath('/s', id), join('/s', 'runs', id, 'journal.jsonl'));

  const dir = tempDir(t);
  assert.deepEqual(await listRunIds(dir), [], 'no runs folder yet');
  for (const r of ['r20261123-094207-aaaa', 'r20261124-000000-bbbb', 'r20251231-235959-cccc'])
    mkdirSync(join(dir, 'runs', r), { recursive: true });
  writeFileSync(join(dir, 'runs', 'r20991231-000000-ffff'), 'a file, not a run');
  mkdirSync(join(dir, 'runs', '.hidden'));
  assert.deepEqual(await listRunIds(dir), ['r20261124-000000-bbbb', 'r20261123-094207-aaaa', 'r20251231-235959-cccc']);
});

test('appending thousands of events is cheap', async (t) => {
  const path = join(tempDir(t), 'journal.jsonl');
  const journal = openJournal(path, 'r1');
  const started = performance.now();
  for (let i = 0; i < 5000; i++) journal.append({ type: 'task_step', taskId: 't', step: i, tool: 'read_file' });
  const elapsed = performance.now() - started;
  await journal.flush();
  journal.close();
  assert.ok(elapsed < 2000, `5000 appends took ${elapsed.toFixed(0)} ms`);
  assert.equal((await readJournal(path)).events.length, 5000);
});
