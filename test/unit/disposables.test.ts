/**
 * The host's disposable store: everything added is disposed once, newest first; what is added
 * after disposal is disposed at once; one failing item does not keep the rest alive.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DisposableStore, toDisposable } from '../../src/host/disposables';

test('dispose disposes everything once, newest first, and is idempotent', () => {
  const store = new DisposableStore();
  const order: string[] = [];
  const added = store.add(toDisposable(() => order.push('first')));
  store.add(toDisposable(() => order.push('second')));
  assert.equal(typeof added.dispose, 'function', 'add returns what it was given');
  assert.equal(store.disposed, false);
  store.dispose();
  store.dispose();
  assert.deepEqual(order, ['second', 'first']);
  assert.equal(store.disposed, true);
});

test('an item added to a disposed store is disposed at once and not kept', () => {
  const store = new DisposableStore();
  store.dispose();
  let disposed = 0;
  store.add(toDisposable(() => disposed++));
  assert.equal(disposed, 1);
  store.dispose();
  assert.equal(disposed, 1);
});

test('a failing item does not stop the others; its error is rethrown after', () => {
  const store = new DisposableStore();
  const done: string[] = [];
  store.add(toDisposable(() => done.push('a')));
  store.add(
    toDisposable(() => {
      throw new Error('boom');
    }),
  );
  store.add(toDisposable(() => done.push('c')));
  assert.throws(() => store.dispose(), /boom/);
  assert.deepEqual(done, ['c', 'a']);

  const two = new DisposableStore();
  for (const m of ['x', 'y'])
    two.add(
      toDisposable(() => {
        throw new Error(m);
      }),
    );
  assert.throws(
    () => two.dispose(),
    (e: unknown) => e instanceof AggregateError && e.errors.length === 2,
  );
});
