import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createUpdateThrottle } from '../../src/app/updateThrottle';
import type { ThrottleClock } from '../../src/app/updateThrottle';

/** A clock the test moves by hand; timers fire when `advance` passes their time. */
function manualClock(): ThrottleClock & { advance(ms: number): void; pending(): number } {
  let now = 0;
  let timers: { at: number; fn: () => void; id: number }[] = [];
  let nextId = 1;
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = nextId++;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout(handle) {
      timers = timers.filter((t) => t.id !== handle);
    },
    advance(ms) {
      const until = now + ms;
      for (;;) {
        const due = timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
        if (!due) break;
        timers = timers.filter((t) => t !== due);
        now = due.at;
        due.fn();
      }
      now = until;
    },
    pending: () => timers.length,
  };
}

test('the first signal sends at once; a burst inside the interval becomes one trailing send', () => {
  const clock = manualClock();
  let sends = 0;
  const throttle = createUpdateThrottle(() => sends++, 10, clock);
  throttle.signal();
  assert.equal(sends, 1);
  for (let i = 0; i < 50; i++) {
    clock.advance(1);
    throttle.signal();
  }
  assert.equal(sends, 1, 'nothing more inside the 100 ms interval');
  clock.advance(100);
  assert.equal(sends, 2, 'one trailing send delivers the latest state');
  clock.advance(1000);
  assert.equal(sends, 2, 'no send without a signal');
});

test('a steady stream of signals is held to the rate', () => {
  const clock = manualClock();
  let sends = 0;
  const throttle = createUpdateThrottle(() => sends++, 10, clock);
  for (let ms = 0; ms < 3000; ms++) {
    throttle.signal();
    clock.advance(1);
  }
  assert.ok(sends >= 29 && sends <= 31, `about 10 a second for 3 s, got ${sends}`);
});

test('flush sends a pending change now; dispose drops it and ignores later signals', () => {
  const clock = manualClock();
  let sends = 0;
  const throttle = createUpdateThrottle(() => sends++, 10, clock);
  throttle.signal();
  throttle.signal();
  throttle.flush();
  assert.equal(sends, 2);
  throttle.flush();
  assert.equal(sends, 2, 'flush without a pending change sends nothing');
  clock.advance(10);
  throttle.signal();
  throttle.dispose();
  assert.equal(clock.pending(), 0);
  clock.advance(1000);
  throttle.signal();
  assert.equal(sends, 2);
});

test('the real clock: a signal every 3 ms for 350 ms gives at most five sends', async () => {
  let sends = 0;
  const throttle = createUpdateThrottle(() => sends++, 10);
  const started = Date.now();
  while (Date.now() - started < 350) {
    throttle.signal();
    await new Promise((r) => setTimeout(r, 3));
  }
  await new Promise((r) => setTimeout(r, 150));
  throttle.dispose();
  assert.ok(sends >= 3 && sends <= 5, `got ${sends}`);
});
