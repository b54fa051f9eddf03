import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FreshReads } from '../../src/core/freshReads';

/** A reading source whose readings finish when the test says; each reading returns its number. */
function source() {
  const pending: { n: number; finish: () => void; fail: (e: Error) => void }[] = [];
  let started = 0;
  const read = () =>
    new Promise<number>((resolve, reject) => {
      const n = ++started;
      pending.push({ n, finish: () => resolve(n), fail: reject });
    });
  return { read, pending, started: () => started };
}

const tick = () => new Promise((r) => setImmediate(r));

test('callers that ask while nothing is being read share one reading', async () => {
  const s = source();
  const reads = new FreshReads(s.read);
  const a = reads.get();
  assert.equal(s.started(), 1);
  s.pending[0].finish();
  assert.equal(await a, 1);
});

test('a caller that asks during a reading gets the next one, shared with everyone who asked meanwhile', async () => {
  const s = source();
  const reads = new FreshReads(s.read);
  const first = reads.get();
  const late = [reads.get(), reads.get(), reads.get()];
  assert.equal(s.started(), 1, 'the next reading waits for the current one');
  s.pending[0].finish();
  assert.equal(await first, 1);
  await tick();
  assert.equal(s.started(), 2, 'one more reading for all three late callers');
  s.pending[1].finish();
  assert.deepEqual(await Promise.all(late), [2, 2, 2]);
  // Nothing in flight: the next caller starts a reading of its own.
  const after = reads.get();
  assert.equal(s.started(), 3);
  s.pending[2].finish();
  assert.equal(await after, 3);
});

test('a failed reading fails its callers only; the queued reading still happens', async () => {
  const s = source();
  const reads = new FreshReads(s.read);
  const first = reads.get();
  const late = reads.get();
  s.pending[0].fail(new Error('git died'));
  await assert.rejects(first, /git died/);
  await tick();
  s.pending[1].finish();
  assert.equal(await late, 2);
});
