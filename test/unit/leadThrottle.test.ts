/**
 * The update throttle with a fake clock: leading and trailing edges, at most N sends a second,
 * the last change never dropped, nothing sent after dispose.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createUpdateThrottle } from '../../src/app/updateThrottle';
import type { ThrottleClock } from '../../src/app/updateThrottle';

/** A clock whose time moves only when the test says; timers fire in order as it passes them. */
class FakeClock implements ThrottleClock {
  t = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private nextId = 1;

  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }
  pending(): number {
    return this.timers.length;
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }
}

test('the first signal is sent at once; a burst in the interval becomes one trailing send', () => {
  const clock = new FakeClock();
  const sent: number[] = [];
  const throttle = createUpdateThrottle(() => sent.push(clock.now()), 10, clock);
  throttle.signal();
  assert.deepEqual(sent, [0], 'leading edge');
  for (let i = 0; i < 50; i++) {
    clock.advance(1);
    throttle.signal();
  }
  assert.deepEqual(sent, [0], 'fifty signals within the interval: none sent yet');
  clock.advance(100);
  assert.deepEqual(sent, [0, 100], 'one send for all of them, at the end of the interval');
  throttle.signal();
  assert.deepEqual(sent, [0, 100], 'a change 50 ms after a send waits');
  clock.advance(100);
  assert.deepEqual(sent, [0, 100, 200], 'the last change is sent at the end of its interval');
  clock.advance(1000);
  assert.deepEqual(sent, [0, 100, 200], 'nothing more without a signal');
  assert.equal(clock.pending(), 0);
});

test('a steady stream of signals is sent at most N times a second, and its last one is sent', () => {
  const clock = new FakeClock();
  let sends = 0;
  let lastSeen = -1;
  let value = 0;
  const throttle = createUpdateThrottle(
    () => {
      sends++;
      lastSeen = value;
    },
    10,
    clock,
  );
  for (let ms = 0; ms < 3000; ms++) {
    value = ms;
    throttle.signal();
    clock.advance(1);
  }
  assert.ok(sends <= 31, `sent ${sends} times in 3 s`);
  assert.ok(sends >= 29, `sent only ${sends} times in 3 s`);
  clock.advance(200);
  assert.equal(lastSeen, 2999, 'the final change reached the receiver');
});

test('a signal from inside send is sent in the next interval; flush sends a pending change now', () => {
  const clock = new FakeClock();
  const sent: number[] = [];
  let again = true;
  const throttle = createUpdateThrottle(
    () => {
      sent.push(clock.now());
      if (again) {
        again = false;
        throttle.signal();
      }
    },
    4,
    clock,
  );
  throttle.signal();
  assert.deepEqual(sent, [0]);
  clock.advance(250);
  assert.deepEqual(sent, [0, 250]);
  clock.advance(10);
  throttle.signal();
  assert.deepEqual(sent, [0, 250], 'within the interval: waits');
  throttle.flush();
  assert.deepEqual(sent, [0, 250, 260], 'flush sends at once');
  throttle.flush();
  assert.deepEqual(sent, [0, 250, 260], 'nothing pending: nothing sent');
});

test('dispose cancels the pending send and ignores later signals', () => {
  const clock = new FakeClock();
  let sends = 0;
  const throttle = createUpdateThrottle(() => sends++, 10, clock);
  throttle.signal();
  clock.advance(10);
  throttle.signal();
  throttle.dispose();
  assert.equal(clock.pending(), 0, 'no timer left behind');
  clock.advance(1000);
  throttle.signal();
  assert.equal(sends, 1);
});
