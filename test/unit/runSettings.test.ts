/**
 * A run's own settings when it goes on (src/core/runSettings.ts): the recorded ones, changed only
 * by explicit overrides and by the backend it continues on, each change in words.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunSettings } from '../../src/core/journal';
import { continuedSettings, describeSettings } from '../../src/core/runSettings';

const RECORDED: RunSettings = {
  endpoint: 'http://localhost:8000/v1',
  model: 'qwen',
  concurrency: 2,
  budgets: { runTokens: 8000, runCost: null, taskTokens: null, taskCost: null },
  autoMerge: true,
  prices: { qwen: { input: 1, cachedInput: 0.1, output: 2 } },
};
const SAME_BACKEND = { endpoint: RECORDED.endpoint, model: RECORDED.model };

test('with no override the run goes on exactly as recorded, whatever a new run would get', () => {
  const next = continuedSettings(RECORDED, SAME_BACKEND, {}, { qwen: { input: 9, cachedInput: 9, output: 9 } });
  assert.deepEqual(next, { settings: RECORDED, changes: [] });
});

test('explicit overrides and another backend are applied and said; unchanged values are not', () => {
  const next = continuedSettings(
    RECORDED,
    { endpoint: 'http://gpu:8000/v1', model: 'qwen' },
    {
      concurrency: 2,
      budgets: { runTokens: 20000, taskCost: 0.5 },
      prices: { qwen: { input: 1, cachedInput: 0.1, output: 2 }, '*': { input: 3, cachedInput: 3, output: 3 } },
    },
    {},
  );
  assert.deepEqual(next.changes, [
    'price of every other model: none → 3 in, 3 cached, 3 out per million tokens',
    'run token budget: 8000 → 20000',
    'per-task cost budget: none → 0.5',
    'backend: http://localhost:8000/v1 → http://gpu:8000/v1',
  ]);
  assert.equal(next.settings.budgets.runTokens, 20000);
  assert.equal(next.settings.budgets.taskCost, 0.5);
  assert.equal(next.settings.endpoint, 'http://gpu:8000/v1');
  assert.deepEqual(Object.keys(next.settings.prices ?? {}), ['qwen', '*']);
});

test('a journal from before runs kept prices goes on with the fallback prices, which is no change', () => {
  const { prices, ...old } = RECORDED;
  const next = continuedSettings(old, SAME_BACKEND, {}, prices ?? {});
  assert.deepEqual(next.changes, []);
  assert.deepEqual(next.settings.prices, prices);
  assert.equal(
    describeSettings(next.settings),
    'model qwen at http://localhost:8000/v1, priced 1 in, 0.1 cached, 2 out per million tokens, run token budget 8000',
  );
  assert.match(describeSettings(old), /prices not recorded, run token budget 8000$/);
});
