/**
 * A run's trace from its journal (core/runTrace.ts) and its ids (infra/otelTrace.ts): spans nest
 * run → task → request/tool with the journal's times, journals written before tool calls kept their
 * durations still give a tool span (from the step that announced it), a failed request carries its
 * reason as `error.type`, and the ids depend on the run id alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JournalEvent, NewEvent } from '../../src/core/journal';
import { buildRunTrace, tracesUrl } from '../../src/core/runTrace';
import { spanIdOf, traceIdOf } from '../../src/infra/otelTrace';

function journal(events: [number, NewEvent][]): JournalEvent[] {
  return events.map(([t, e], i) => ({ ...e, seq: i + 1, t }));
}

const settings = {
  endpoint: 'http://gpu:8000/v1',
  model: 'coder',
  concurrency: 1,
  budgets: { runTokens: null, runCost: null, taskTokens: null, taskCost: null },
};
const usage = { promptTokens: 100, completionTokens: 10, cachedTokens: null, reasoningTokens: null, estimated: false };

test('spans nest run → task → request and tool, with the times the journal recorded', () => {
  const events = journal([
    [
      1000,
      { type: 'run_started', runId: 'r1', repo: '/r', base: 'b', baseSnapshot: false, baseBranch: null, settings },
    ],
    [1100, { type: 'task_status', taskId: 'a', status: 'working' }],
    [1200, { type: 'task_step', taskId: 'a', step: 1, tool: null }],
    [
      1500,
      {
        type: 'model_request',
        role: 'agent',
        taskId: 'a',
        model: 'coder-v2',
        endpoint: settings.endpoint,
        ok: true,
        usage,
        timing: { ttftMs: 50, durationMs: 250, outputTokensPerSec: null },
        attempts: 1,
        cost: null,
      },
    ],
    [1510, { type: 'task_step', taskId: 'a', step: 1, tool: 'read_file' }],
    // A journal from before tool calls kept their duration and id.
    [1530, { type: 'tool_call', taskId: 'a', step: 1, tool: 'read_file', args: '{}', ok: true, summary: 'read x' }],
    [
      1590,
      {
        type: 'compacted',
        taskId: 'a',
        step: 1,
        atMessage: 4,
        tokensBefore: 900,
        tokensAfter: 300,
        elided: 2,
        keptTurns: 1,
        contextWindow: 512,
      },
    ],
    [1600, { type: 'task_step', taskId: 'a', step: 2, tool: null }],
    [
      1700,
      {
        type: 'model_request',
        role: 'agent',
        taskId: 'a',
        model: 'coder',
        endpoint: settings.endpoint,
        ok: false,
        error: 'server_error: 500 boom',
        usage: null,
        timing: null,
        attempts: 0,
        cost: null,
      },
    ],
    [1800, { type: 'task_status', taskId: 'a', status: 'failed', reason: 'the backend failed' }],
    [1900, { type: 'run_finished', status: 'failed', message: 'a failed' }],
  ]);
  const trace = buildRunTrace(events)!;
  assert.deepEqual(
    trace.spans.map((s) => [s.key, s.parent, s.subject.kind, s.startMs, s.endMs]),
    [
      ['run', null, 'run', 1000, 1900],
      ['task:a', 'run', 'task', 1100, 1800],
      ['event:4', 'task:a', 'chat', 1250, 1500],
      ['event:6', 'task:a', 'tool', 1510, 1530],
      ['event:9', 'task:a', 'chat', 1600, 1700],
    ],
  );
  assert.equal(trace.spans[2].subject.kind === 'chat' && trace.spans[2].subject.responseModel, 'coder-v2');
  assert.equal(trace.spans[2].subject.kind === 'chat' && trace.spans[2].subject.requestModel, 'coder');
  assert.deepEqual(trace.spans[1].events, [
    {
      name: 'foreman.compacted',
      atMs: 1590,
      attributes: {
        'foreman.tokens_before': 900,
        'foreman.tokens_after': 300,
        'foreman.elided': 2,
        'foreman.context_window': 512,
      },
    },
  ]);
  assert.deepEqual(trace.spans[4].error, { type: 'server_error', message: 'server_error: 500 boom' });
  assert.equal(trace.spans[1].error?.type, 'task_failed');
  assert.equal(trace.spans[0].error?.type, 'run_failed');
  assert.equal(buildRunTrace(events.slice(1)), null, 'no run_started, no trace');
});

test('ids come from the run id alone; collector URLs get /v1/traces once', () => {
  assert.equal(traceIdOf('r1'), traceIdOf('r1'));
  assert.match(traceIdOf('r1'), /^[0-9a-f]{32}$/);
  assert.notEqual(traceIdOf('r1'), traceIdOf('r2'));
  assert.match(spanIdOf('r1', 'run'), /^[0-9a-f]{16}$/);
  assert.notEqual(spanIdOf('r1', 'run'), spanIdOf('r1', 'task:a'));
  assert.equal(tracesUrl('http://c:4318'), 'http://c:4318/v1/traces');
  assert.equal(tracesUrl('http://c:4318/otlp/'), 'http://c:4318/otlp/v1/traces');
  assert.equal(tracesUrl('https://c/v1/traces'), 'https://c/v1/traces');
  assert.equal(tracesUrl('c:4318'), null);
  assert.equal(tracesUrl('ftp://c'), null);
});
