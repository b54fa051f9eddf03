import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CSV_COLUMNS, csvField, exportLedger, ledgerCsv } from '../../src/core/ledgerExport';
import type { JournalEvent } from '../../src/core/journal';
import type { Usage } from '../../src/core/model';

const T0 = Date.UTC(2026, 11, 7, 12, 0, 0);

function usage(promptTokens: number, completionTokens: number, more: Partial<Usage> = {}): Usage {
  return { promptTokens, completionTokens, cachedTokens: null, reasoningTokens: null, estimated: false, ...more };
}

/** A planner request, two of a task whose id needs quoting (one failed with a message that does too), and one of another task. */
function journal(): JournalEvent[] {
  const base = { endpoint: 'http://gpu:8000/v1', model: 'coder', attempts: 1 } as const;
  return [
    {
      seq: 1,
      t: T0,
      type: 'run_started',
      runId: 'r1',
      repo: '/r',
      base: 'abc',
      baseSnapshot: false,
      baseBranch: 'main',
      settings: {} as never,
    },
    {
      seq: 2,
      t: T0 + 1000,
      type: 'model_request',
      ...base,
      role: 'planner',
      taskId: null,
      ok: true,
      usage: usage(1000, 200, { cachedTokens: 0 }),
      timing: { ttftMs: 100, durationMs: 1100, outputTokensPerSec: null },
      cost: 0.0014,
    },
    {
      seq: 3,
      t: T0 + 3000,
      type: 'model_request',
      ...base,
      role: 'agent',
      taskId: 'a,"b"\nc',
      ok: true,
      usage: usage(500, 50, { cachedTokens: 400, reasoningTokens: 10 }),
      timing: { ttftMs: 500, durationMs: 1500, outputTokensPerSec: null },
      cost: null,
    },
    {
      seq: 4,
      t: T0 + 4000,
      type: 'model_request',
      ...base,
      role: 'agent',
      taskId: 'a,"b"\nc',
      ok: false,
      error: 'timeout: no answer, "60 s"',
      usage: null,
      timing: null,
      cost: null,
      attempts: 3,
    },
    {
      seq: 5,
      t: T0 + 5000,
      type: 'model_request',
      ...base,
      role: 'agent',
      taskId: 'd',
      ok: true,
      usage: usage(300, 30, { estimated: true }),
      timing: { ttftMs: null, durationMs: 40, outputTokensPerSec: null },
      cost: 0.0005,
    },
  ];
}

test('every model request becomes a row; nulls stay null; tokens/s follows core/throughput', () => {
  const x = exportLedger(journal());
  assert.equal(x.runId, 'r1');
  assert.equal(x.requests.length, 4);
  assert.deepEqual(x.requests[0], {
    time: '2026-12-07T12:00:01.000Z',
    role: 'planner',
    task: null,
    model: 'coder',
    endpoint: 'http://gpu:8000/v1',
    ok: true,
    error: null,
    promptTokens: 1000,
    cachedTokens: 0,
    completionTokens: 200,
    reasoningTokens: null,
    estimated: false,
    ttftMs: 100,
    durationMs: 1100,
    tokensPerSecond: 200,
    cost: 0.0014,
    attempts: 1,
    joules: null,
  });
  assert.equal(x.requests[2].promptTokens, null, 'a request that failed before an answer has no tokens');
  assert.equal(x.requests[2].attempts, 3);
  assert.equal(x.requests[3].tokensPerSecond, null, 'not streamed: not timed');
  assert.equal(x.requests[1].cost, null, 'unpriced is null, not 0');
});

test('totals are the ledger’s: the unpriced request is counted, never priced at 0', () => {
  const x = exportLedger(journal());
  assert.equal(x.total.requests, 4);
  assert.equal(x.total.input, 1800);
  assert.equal(x.total.cost, 0.0014 + 0.0005);
  assert.equal(x.total.unpriced, 1, 'the failed request used no tokens: it is not an unpriced one');
  assert.equal(x.total.estimated, true);
  assert.deepEqual(
    x.tasks.map((t) => [t.task, t.requests, t.cost, t.unpriced, t.tokensPerSecond]),
    [
      ['a,"b"\nc', 2, null, 1, 50],
      ['d', 1, 0.0005, 0, null],
    ],
  );
  // Two spans: 1000 ms for 200 tokens and 1000 ms for 50, not overlapping.
  assert.equal(x.total.tokensPerSecond, 125);
});

test('CSV: one header of the documented columns, RFC 4180 quoting, CRLF, empty for null', () => {
  const csv = ledgerCsv(exportLedger(journal()));
  const lines = csv.split('\r\n');
  assert.equal(lines[0], CSV_COLUMNS.join(','));
  assert.equal(lines.at(-1), '', 'ends with a line break');
  assert.equal(
    lines[1],
    '2026-12-07T12:00:01.000Z,planner,,coder,http://gpu:8000/v1,true,,1000,0,200,,false,100,1100,200,0.0014,1,',
  );
  assert.ok(csv.includes(',"a,""b""\nc",coder,'), 'a task id with a comma, quotes and a newline is quoted');
  assert.ok(csv.includes(',false,"timeout: no answer, ""60 s""",,,,,,,,,,3,\r\n'), 'the error too; no tokens: empty');
  assert.equal(csvField('plain'), 'plain');
  assert.equal(csvField('cr\rhere'), '"cr\rhere"');
  assert.equal(csvField(null), '');
});

test('energy: each request gets its share of the measured joules, tasks add them up, idle draw stays apart', () => {
  const energy = (seq: number, fromMs: number, toMs: number, joules: number): JournalEvent => ({
    seq,
    t: toMs,
    type: 'energy',
    endpoint: 'http://gpu:8000/v1',
    source: 'dcgm-exporter http://gpu:9400/metrics',
    fromMs,
    toMs,
    gpus: [{ gpu: '0', joules, method: 'counter' }],
  });
  const events = [
    ...journal(),
    // Planner generating alone; task a alone; nothing timed in flight (idle); task d alone.
    energy(6, T0 - 1000, T0 + 1000, 250),
    energy(7, T0 + 1000, T0 + 3000, 100),
    energy(8, T0 + 3000, T0 + 4500, 60),
    energy(9, T0 + 4500, T0 + 5000, 40),
  ];
  const x = exportLedger(events);
  assert.deepEqual(
    x.requests.map((r) => r.joules),
    [250, 100, 0, 40],
  );
  assert.deepEqual(
    x.tasks.map((t) => [t.task, t.joules, t.tokensPerJoule]),
    [
      ['a,"b"\nc', 100, 0.5],
      ['d', 40, 0.75],
    ],
  );
  assert.equal(x.total.joules, 390, 'attributed joules: idle draw is not any request’s');
  assert.deepEqual(x.energy.run, {
    joules: 450,
    idleJoules: 60,
    tokens: 280,
    tokensPerJoule: 280 / 390,
    tokensPerJouleWithIdle: 280 / 450,
  });
  assert.equal(x.energy.backends.length, 1);
  assert.ok(ledgerCsv(x).split('\r\n')[1].endsWith(',0.0014,1,250'));
});

test('energy not measured: every joule is null, and the export says why', () => {
  const events: JournalEvent[] = [
    ...journal(),
    {
      seq: 6,
      t: T0 + 6000,
      type: 'telemetry_unavailable',
      endpoint: 'http://gpu:8000/v1',
      what: 'energy',
      reason: 'No GPU power is readable here: nvidia-smi is not installed.',
    },
  ];
  const x = exportLedger(events);
  assert.ok(x.requests.every((r) => r.joules === null));
  assert.equal(x.total.joules, null);
  assert.equal(x.energy.run, null);
  assert.deepEqual(x.energy.backends, [
    {
      endpoint: 'http://gpu:8000/v1',
      measured: false,
      reason: 'No GPU power is readable here: nvidia-smi is not installed.',
    },
  ]);
});
