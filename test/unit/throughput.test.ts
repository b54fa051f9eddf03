/**
 * The one definition of tokens/s (src/core/throughput.ts): output tokens per second of generation
 * time, where generation runs from a request's first token to its end and a set of requests
 * generates during the union of their intervals. Requests whose output came in one burst are not
 * timed, so they cannot turn a few milliseconds into thousands of tokens per second.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ledger } from '../../src/core/ledger';
import type { RequestTiming, Usage } from '../../src/core/model';
import { generationSpan, MIN_GENERATION_MS, outputRate, unionLength } from '../../src/core/throughput';

const usage = (completionTokens: number): Usage => ({
  promptTokens: 1000,
  completionTokens,
  cachedTokens: null,
  reasoningTokens: null,
  estimated: false,
});
const timing = (durationMs: number, ttftMs: number | null): RequestTiming => ({
  durationMs,
  ttftMs,
  outputTokensPerSec: null,
});

test("a request's generation runs from its first token to its end, placed where it was booked", () => {
  assert.deepEqual(generationSpan(10_000, usage(200), timing(2500, 500)), { start: 8000, end: 10_000, tokens: 200 });
  assert.equal(generationSpan(10_000, usage(200), timing(2500, null)), null, 'not streamed: no first token');
  assert.equal(generationSpan(10_000, usage(200), null), null, 'failed before any answer');
  assert.equal(generationSpan(10_000, null, timing(2500, 500)), null);
  assert.equal(generationSpan(10_000, usage(0), timing(2500, 500)), null, 'no output, nothing generated');
  assert.equal(
    generationSpan(10_000, usage(5000), timing(503, 500)),
    null,
    'a whole answer in one read of the socket is not timed',
  );
  assert.ok(generationSpan(10_000, usage(10), timing(500 + MIN_GENERATION_MS, 500)));
});

test('concurrent requests add up: tokens over the union of their generation intervals', () => {
  const a = { start: 0, end: 2000, tokens: 100 };
  const b = { start: 1000, end: 3000, tokens: 100 };
  const c = { start: 5000, end: 6000, tokens: 50 };
  assert.equal(unionLength([a, b, c]), 4000);
  assert.equal(outputRate([a, b, c]), 250 / 4, 'gaps with nothing streaming are not generation time');
  assert.equal(outputRate([a]), 50);
  assert.equal(outputRate([]), null, 'nothing timed: no figure, not 0');
});

test('in a window, each request counts for the part of it inside, tokens in proportion', () => {
  const long = { start: 0, end: 10_000, tokens: 1000 };
  assert.equal(outputRate([long], { from: 5000, to: 10_000 }), 100);
  assert.equal(outputRate([long], { from: 8000, to: 13_000 }), 100, 'the part in the window, at its own rate');
  assert.equal(outputRate([long], { from: 10_000, to: 15_000 }), null, 'ended at the window start: outside');
});

test('the ledger rate leaves bursts out: the accept that showed 19,471.7 tok/s', () => {
  const ledger = new Ledger();
  const book = (at: number, out: number, t: RequestTiming) =>
    ledger.record({
      role: 'agent',
      taskId: 'a',
      model: 'm',
      endpoint: 'e',
      ok: true,
      usage: usage(out),
      timing: t,
      cost: null,
      at,
    });
  // A scripted server sends each answer whole: 60 requests of 300 tokens, 1-3 ms between first
  // token and end. Summed, that is 120 ms of "generation" for 18,000 tokens: 150k tok/s.
  for (let i = 0; i < 60; i++) book(1000 * i, 300, timing(40 + (i % 3), 38));
  assert.equal(ledger.tokensPerSecond(), null, 'nothing was timed, so there is no rate');
  // One request streamed over 2 s: the rate is its 100 tokens over 2 s, the bursts left out.
  book(100_000, 100, timing(2100, 100));
  assert.equal(ledger.tokensPerSecond(), 50);
  assert.equal(
    ledger.tokensPerSecond((r) => r.taskId === 'b'),
    null,
  );
});
