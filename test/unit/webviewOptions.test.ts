import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BackendView } from '../../src/protocol/panel';
import {
  backendChange,
  backendFormProblem,
  backendLabel,
  discoveredName,
  hasRealBackend,
  modelChoices,
  parseConcurrency,
  parseCostBudget,
  parseTokenBudget,
  selectedBackend,
} from '../../src/webview/options';

const demo: BackendView = {
  name: 'demo',
  baseUrl: 'http://127.0.0.1:1/v1',
  models: ['foreman-demo'],
  demo: true,
  hasKey: false,
};
const vllm: BackendView = {
  name: 'vllm',
  baseUrl: 'http://gpu:8000/v1',
  models: ['qwen', 'llama'],
  demo: false,
  hasKey: true,
};

test('concurrency is a whole number from 1 to 256', () => {
  assert.deepEqual(parseConcurrency(' 8 '), { ok: true, value: 8 });
  for (const bad of ['', '0', '257', '2.5', 'four']) assert.equal(parseConcurrency(bad).ok, false, bad);
});

test('budgets: blank is none; token budgets take k and M', () => {
  assert.deepEqual(parseTokenBudget(''), { ok: true, value: null });
  assert.deepEqual(parseTokenBudget('200000'), { ok: true, value: 200_000 });
  assert.deepEqual(parseTokenBudget('200k'), { ok: true, value: 200_000 });
  assert.deepEqual(parseTokenBudget('1.5M'), { ok: true, value: 1_500_000 });
  assert.deepEqual(parseTokenBudget('1,000,000'), { ok: true, value: 1_000_000 });
  for (const bad of ['0', '-5', '5x', 'k']) assert.equal(parseTokenBudget(bad).ok, false, bad);
  assert.deepEqual(parseCostBudget(' '), { ok: true, value: null });
  assert.deepEqual(parseCostBudget('$2.50'), { ok: true, value: 2.5 });
  assert.deepEqual(parseCostBudget('.5'), { ok: true, value: 0.5 });
  assert.deepEqual(parseCostBudget('3.'), { ok: true, value: 3 });
  assert.deepEqual(parseCostBudget('$'), { ok: true, value: null }, 'a lone currency sign is as good as blank');
  for (const bad of ['0', 'two', '1e3', '-1']) assert.equal(parseCostBudget(bad).ok, false, bad);
});

test('the demo backend is labelled as no model; real ones by name', () => {
  assert.equal(backendLabel(demo), 'Demo — scripted, no model');
  assert.equal(backendLabel(vllm), 'vllm');
  assert.equal(hasRealBackend([demo]), false);
  assert.equal(hasRealBackend([demo, vllm]), true);
});

test('the selected backend and its models', () => {
  const options = {
    backend: 'vllm',
    model: 'llama',
    concurrency: 4,
    budgetTokens: null,
    budgetCost: null,
    holdForReview: false,
  };
  assert.equal(selectedBackend({ backends: [demo, vllm], options }), vllm);
  assert.equal(selectedBackend({ backends: [demo, vllm], options: { ...options, backend: null } }), demo);
  assert.equal(selectedBackend({ backends: [], options }), null);
  assert.deepEqual(modelChoices(vllm, 'llama'), ['qwen', 'llama']);
  assert.deepEqual(modelChoices(vllm, 'custom'), ['custom', 'qwen', 'llama']);
  assert.deepEqual(modelChoices(null, null), []);
  assert.deepEqual(backendChange([demo, vllm], 'vllm'), { backend: 'vllm', model: 'qwen' });
  assert.deepEqual(backendChange([demo], 'gone'), { backend: 'gone', model: null });
});

test('discovered servers are named after their kind, uniquely', () => {
  assert.equal(discoveredName({ kind: 'vLLM' }, [demo]), 'vllm');
  assert.equal(discoveredName({ kind: 'vLLM' }, [demo, vllm]), 'vllm-2');
  assert.equal(discoveredName({ kind: 'vLLM' }, [vllm, { ...vllm, name: 'vllm-2' }]), 'vllm-3');
  assert.equal(discoveredName({ kind: 'LM Studio' }, []), 'lm-studio');
  assert.equal(discoveredName({ kind: 'OpenAI-compatible' }, []), 'openai-compatible');
  assert.equal(discoveredName({ kind: '???' }, []), 'server');
});

test('the add-backend form says what is missing', () => {
  const ok = { name: 'box', baseUrl: 'http://localhost:8000/v1', model: 'qwen' };
  assert.equal(backendFormProblem(ok, [demo]), null);
  assert.match(backendFormProblem({ ...ok, name: ' ' }, []) ?? '', /name/);
  assert.match(backendFormProblem({ ...ok, name: 'demo' }, [demo]) ?? '', /demo/);
  assert.match(backendFormProblem({ ...ok, baseUrl: 'localhost:8000' }, []) ?? '', /http/);
  assert.match(backendFormProblem({ ...ok, baseUrl: 'ftp://x' }, []) ?? '', /http/);
  assert.match(backendFormProblem({ ...ok, model: '' }, []) ?? '', /model/);
});
