/**
 * `foreman export` on real finished runs: the demo's three tasks on copies of the sample
 * repository, run by the CLI against the scripted server, once with a price and once without. The
 * JSON's totals must be `foreman status --json`'s usage, the CSV must parse back (with the small
 * RFC 4180 reader below) into the same requests, and a run without a price must show its costs as
 * missing, counted in `unpriced`, never as 0.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CSV_COLUMNS } from '../../src/core/ledgerExport';
import type { ExportedRequest, LedgerExport } from '../../src/core/ledgerExport';
import type { TokenTotals } from '../../src/core/ledger';
import { demoScenario } from '../../src/scripted/demoScenario';
import type { ScriptedServer } from '../../src/scripted/server';
import { latestRunId, makeRepo, PROJECT_ROOT, runCli, startServer } from './runHarness';
import type { TempRepo } from './runHarness';

const SPEC = readFileSync(join(PROJECT_ROOT, 'samples', 'demo-spec.txt'), 'utf8').trim();

interface DemoRun {
  repo: TempRepo;
  server: ScriptedServer;
  runId: string;
}

let priced: DemoRun;
let unpriced: DemoRun;
let testContext: string | undefined;

async function demoRun(extra: string[]): Promise<DemoRun> {
  const repo = makeRepo({ template: join(PROJECT_ROOT, 'samples', 'demo-shop') });
  const server = await startServer(demoScenario);
  const run = await runCli(['run', SPEC, '--concurrency', '2', '--no-review', ...extra], {
    repo,
    server,
    model: 'scripted-demo',
    timeoutMs: 120_000,
  });
  assert.equal(run.code, 0, run.stderr);
  return { repo, server, runId: await latestRunId(repo) };
}

before(async () => {
  // The sample's checks are `node --test`: they must not report to this test runner.
  testContext = process.env.NODE_TEST_CONTEXT;
  delete process.env.NODE_TEST_CONTEXT;
  priced = await demoRun(['--price', '3,0.3,15']);
  unpriced = await demoRun([]);
});

after(async () => {
  for (const run of [priced, unpriced]) {
    await run?.server.close();
    run?.repo.cleanup();
  }
  if (testContext !== undefined) process.env.NODE_TEST_CONTEXT = testContext;
});

/**
 * RFC 4180 records: fields separated by commas, records by CRLF, a quoted field may hold commas,
 * CR, LF and doubled quotes. Throws on anything else (a stray quote, a bare LF between records).
 */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let i = 0;
  while (i < text.length) {
    let field = '';
    if (text[i] === '"') {
      i += 1;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw new Error('an unclosed quoted field');
        field += text.slice(i, q);
        i = q + 1;
        if (text[i] !== '"') break;
        field += '"';
        i += 1;
      }
    } else {
      const end = text.slice(i).search(/[,\r\n"]/);
      const stop = end < 0 ? text.length : i + end;
      if (text[stop] === '"') throw new Error(`a quote inside an unquoted field at ${stop}`);
      field = text.slice(i, stop);
      i = stop;
    }
    record.push(field);
    if (text[i] === ',') i += 1;
    else if (text.startsWith('\r\n', i)) {
      records.push(record);
      record = [];
      i += 2;
    } else throw new Error(`expected a comma or CRLF at ${i}, found ${JSON.stringify(text[i])}`);
  }
  if (record.length > 0) throw new Error('the last record has no line break');
  return records;
}

/** A request's field as the CSV writes it. */
function csvText(value: ExportedRequest[keyof ExportedRequest]): string {
  return value === null ? '' : String(value);
}

/** Exported totals without what the export adds (the task's id, tokens/s): the ledger's own. */
function ledgerTotals(t: LedgerExport['tasks'][number] | LedgerExport['total']): TokenTotals {
  const copy: Record<string, unknown> = { ...t };
  delete copy.task;
  delete copy.tokensPerSecond;
  // The energy figures (null here: the demo backend has no GPU) are the export's own.
  delete copy.joules;
  delete copy.tokensPerJoule;
  return copy as unknown as TokenTotals;
}

async function exportJson(run: DemoRun): Promise<LedgerExport> {
  const r = await runCli(['export', run.runId], { repo: run.repo });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as LedgerExport;
}

async function statusJson(run: DemoRun): Promise<{ usage: TokenTotals; tasks: { id: string; usage: TokenTotals }[] }> {
  const r = await runCli(['status', run.runId, '--json'], { repo: run.repo });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

test("the JSON export's totals are foreman status's, per task and for the run, with costs from the run's price", async () => {
  const x = await exportJson(priced);
  const status = await statusJson(priced);
  assert.equal(x.runId, priced.runId);
  const { tokensPerSecond, joules, tokensPerJoule, ...total } = x.total;
  assert.deepEqual(total, status.usage);
  assert.deepEqual([joules, tokensPerJoule], [null, null], 'no GPU behind the demo: no energy, never 0');
  assert.ok(tokensPerSecond === null || tokensPerSecond > 0);
  for (const task of status.tasks) {
    const mine = x.tasks.find((t) => t.task === task.id);
    assert.ok(mine, `task ${task.id} is in the export`);
    assert.deepEqual(ledgerTotals(mine), task.usage, task.id);
  }
  assert.equal(x.requests.length, total.requests);
  assert.ok(
    x.requests.some((r) => r.role === 'planner' && r.task === null),
    "the planner's request, of no task",
  );
  assert.equal(
    x.requests.reduce((n, r) => n + (r.promptTokens ?? 0), 0),
    total.input,
  );
  assert.ok(
    x.requests.every((r) => typeof r.cost === 'number' && r.cost > 0),
    'every request priced',
  );
  assert.equal(total.unpriced, 0);
  assert.ok(total.cost !== null && total.cost > 0);
  assert.equal(
    x.requests.reduce((n, r) => n + (r.cost ?? 0), 0),
    total.cost,
    'the requests add up to the total (summed in the same order)',
  );
});

test('the CSV parses back into the same requests, under the documented header; --out writes the same bytes', async () => {
  const x = await exportJson(priced);
  const r = await runCli(['export', priced.runId, '--format', 'csv'], { repo: priced.repo });
  assert.equal(r.code, 0, r.stderr);
  const [header, ...rows] = parseCsv(r.stdout);
  assert.deepEqual(header, [...CSV_COLUMNS]);
  assert.equal(rows.length, x.requests.length);
  rows.forEach((row, i) =>
    assert.deepEqual(
      row,
      CSV_COLUMNS.map((c) => csvText(x.requests[i][c])),
      `row ${i + 1}`,
    ),
  );
  const cost = CSV_COLUMNS.indexOf('cost');
  assert.ok(rows.every((row) => Number(row[cost]) > 0));

  const file = join(priced.repo.root, '..', `${priced.runId}.csv`);
  const saved = await runCli(['export', priced.runId, '--format', 'csv', '--out', file], { repo: priced.repo });
  assert.equal(saved.code, 0, saved.stderr);
  assert.equal(saved.stdout, '');
  assert.match(saved.stderr, new RegExp(`^Exported ${rows.length} model requests of run ${priced.runId} to `));
  assert.equal(readFileSync(file, 'utf8'), r.stdout);
});

test('without a price every cost is missing (empty in CSV, null in JSON) and unpriced counts the requests', async () => {
  const x = await exportJson(unpriced);
  const status = await statusJson(unpriced);
  const total = ledgerTotals(x.total);
  assert.deepEqual(total, status.usage);
  assert.equal(total.cost, null, 'no $0 for a missing price');
  assert.equal(total.unpriced, x.requests.filter((r) => (r.promptTokens ?? 0) + (r.completionTokens ?? 0) > 0).length);
  assert.ok(total.unpriced > 0);
  assert.ok(x.requests.every((r) => r.cost === null));
  assert.ok(x.tasks.every((t) => t.cost === null && t.unpriced === t.requests));

  const r = await runCli(['export', unpriced.runId, '--format', 'csv'], { repo: unpriced.repo });
  assert.equal(r.code, 0, r.stderr);
  const [header, ...rows] = parseCsv(r.stdout);
  const cost = header.indexOf('cost');
  assert.ok(cost >= 0);
  assert.ok(rows.length > 0 && rows.every((row) => row[cost] === ''));
});

test('an unknown run, a bad format, a price to export with or a missing run id get a sentence and exit 2', async () => {
  const unknown = await runCli(['export', 'r20200101-000000-0000'], { repo: priced.repo });
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stdout, '');
  assert.match(
    unknown.stderr,
    /^foreman: no run r20200101-000000-0000 in this repository \(see: foreman status --all\)\n$/,
  );
  const notAnId = await runCli(['export', '../yesterday'], { repo: priced.repo });
  assert.equal(notAnId.code, 2);
  assert.match(notAnId.stderr, /"\.\.\/yesterday" is not a run id/);
  const format = await runCli(['export', priced.runId, '--format', 'xlsx'], { repo: priced.repo });
  assert.equal(format.code, 2);
  assert.match(format.stderr, /--format must be one of csv, json, otlp, otel-json, not "xlsx"/);
  const price = await runCli(['export', unpriced.runId, '--price', '1,1,1'], { repo: unpriced.repo });
  assert.equal(price.code, 2);
  assert.match(price.stderr, /export shows the costs the run booked at its own prices \(foreman run --price\)/);
  const none = await runCli(['export'], { repo: priced.repo });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /export needs one run: foreman export <run>/);
  for (const r of [unknown, notAnId, format, price, none]) assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});
