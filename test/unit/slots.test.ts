import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Slots } from '../../src/core/slots';

test('slots are handed out in the order asked for, and a freed one goes straight to the next', async () => {
  const slots = new Slots(2);
  const order: string[] = [];
  const a = await slots.acquire();
  const b = await slots.acquire();
  assert.ok(a && b);
  assert.equal(slots.inUse, 2);
  const c = slots.acquire().then((r) => (order.push('c'), r));
  const d = slots.acquire().then((r) => (order.push('d'), r));
  assert.equal(slots.waiting, 2);
  a();
  a(); // a second release frees nothing more
  const releaseC = await c;
  assert.deepEqual(order, ['c']);
  assert.equal(slots.inUse, 2, 'the slot passed from a to c without being free in between');
  assert.equal(slots.waiting, 1);
  b();
  const releaseD = await d;
  assert.deepEqual(order, ['c', 'd']);
  releaseC?.();
  releaseD?.();
  assert.equal(slots.inUse, 0);
});

test('an abort while waiting leaves the queue and holds nothing', async () => {
  const slots = new Slots(1);
  const first = await slots.acquire();
  const abort = new AbortController();
  const waiting = slots.acquire(abort.signal);
  const after = slots.acquire();
  abort.abort();
  assert.equal(await waiting, null);
  first?.();
  const next = await after;
  assert.ok(next, 'the slot went to the waiter behind the aborted one');
  assert.equal(await slots.acquire(AbortSignal.abort()), null, 'an aborted signal gets no slot');
  assert.equal(await slots.with(AbortSignal.abort(), () => Promise.resolve('ran')), null);
  next();
  assert.equal(await slots.with(undefined, () => Promise.resolve('ran')), 'ran');
  assert.equal(slots.inUse, 0);
  assert.throws(() => new Slots(0), /whole number/);
});
