/**
 * A run's ledger for a spreadsheet or a script: every model request of the run, as its journal's
 * `model_request` events tell it, in CSV (RFC 4180) or in JSON with totals per task and for the run.
 *
 * Pure. The totals are the ledger's (core/ledger.ts), so they are the figures `foreman status`
 * shows, and tokens/s is core/throughput.ts's one definition. A request without a price has no
 * cost (an empty CSV field, `null` in JSON), never 0; totals count such requests in `unpriced`.
 */
import type { JournalEvent, RequestRole } from './journal';
import { Ledger } from './ledger';
import type { TokenTotals } from './ledger';
import { generationSpan, outputRate } from './throughput';
import { attributeEnergy, tokensPerJoule } from './energyAttribution';
import type { EnergyAccount } from './energyAttribution';
import { energyFigures, energyReport, TelemetryBook } from './telemetry';

/** One model request of the run. Null where the journal has no figure (e.g. a request that failed before the server answered). */
export interface ExportedRequest {
  /** When the request finished (was booked), ISO 8601 in UTC. */
  time: string;
  role: RequestRole;
  /** The task it worked for; null for the planner's requests. */
  task: string | null;
  model: string;
  endpoint: string;
  ok: boolean;
  /** Why it failed, as the journal says; null when it succeeded. */
  error: string | null;
  promptTokens: number | null;
  /** Prompt tokens served from the server's cache; null when the server did not report them. */
  cachedTokens: number | null;
  completionTokens: number | null;
  reasoningTokens: number | null;
  /** True when the token counts are a tokenizer estimate (the server reported no usage). */
  estimated: boolean | null;
  ttftMs: number | null;
  durationMs: number | null;
  /** Output tokens per second of its generation time; null when it was not timed (core/throughput.ts). */
  tokensPerSecond: number | null;
  /** In the price table's currency; null when the model had no price. */
  cost: number | null;
  attempts: number;
  /**
   * GPU joules attributed to this request (core/energyAttribution.ts: each measured interval's
   * joules by share of the tokens generated in it); null where its backend's energy was not measured.
   */
  joules: number | null;
}

/** Totals of a set of requests: the ledger's, with their tokens per second. */
export interface ExportedTotals extends TokenTotals {
  /** Output tokens per second of generation time; null when no request was timed. */
  tokensPerSecond: number | null;
  /** GPU joules attributed; null where no energy was measured. Idle draw is in `energy`, not here. */
  joules: number | null;
  /** Output tokens generated in measured intervals per attributed joule; null without joules. */
  tokensPerJoule: number | null;
}

/** A run's GPU energy in the export: per backend, and in all with idle draw apart. */
export interface ExportedEnergy {
  backends: (
    | {
        endpoint: string;
        measured: true;
        source: string;
        method: string;
        gpus: number;
        joules: number;
        idleJoules: number;
        tokens: number;
        tokensPerJoule: number | null;
        tokensPerJouleWithIdle: number | null;
      }
    | { endpoint: string; measured: false; reason: string }
  )[];
  /** The measured backends together; null when none was measured. */
  run: {
    joules: number;
    idleJoules: number;
    tokens: number;
    tokensPerJoule: number | null;
    tokensPerJouleWithIdle: number | null;
  } | null;
}

/** The JSON export of a run. */
export interface LedgerExport {
  runId: string | null;
  requests: ExportedRequest[];
  /** Per task, in order of first request (the planner's requests belong to no task). */
  tasks: (ExportedTotals & { task: string })[];
  /** The whole run, the planner's requests included. */
  total: ExportedTotals;
  energy: ExportedEnergy;
}

/** The CSV columns, in order; each is the `ExportedRequest` field of the same name. */
export const CSV_COLUMNS = [
  'time',
  'role',
  'task',
  'model',
  'endpoint',
  'ok',
  'error',
  'promptTokens',
  'cachedTokens',
  'completionTokens',
  'reasoningTokens',
  'estimated',
  'ttftMs',
  'durationMs',
  'tokensPerSecond',
  'cost',
  'attempts',
  'joules',
] as const satisfies readonly (keyof ExportedRequest)[];

/** The run's requests and totals, from its journal's events. */
export function exportLedger(events: readonly JournalEvent[]): LedgerExport {
  const ledger = Ledger.fromEvents(events);
  const book = TelemetryBook.fromEvents(events);
  const report = energyReport(book, ledger);
  const perRequest = requestJoules(book, ledger);
  const started = events.find((e) => e.type === 'run_started');
  const totals = (t: Readonly<TokenTotals>, key: string | null): ExportedTotals => ({
    ...t,
    tokensPerSecond: ledger.tokensPerSecond(key === null ? undefined : (rec) => rec.taskId === key),
    ...energyOf(report.run, key),
  });
  let index = 0;
  return {
    runId: started?.type === 'run_started' ? started.runId : null,
    requests: events.flatMap((e) => (e.type === 'model_request' ? [exportedRequest(e, perRequest, index++)] : [])),
    tasks: [...ledger.byTask()].map(([task, t]) => ({ task, ...totals(t, task) })),
    total: totals(ledger.run, null),
    energy: exportedEnergy(report.backends, report.run),
  };
}

/**
 * The joules and tokens per joule of a task (`key`), or of the run's requests together (null):
 * attributed joules only, so idle draw is no one's; null figures where nothing was measured, and
 * 0 J for a task none of whose work fell in a measured interval.
 */
function energyOf(run: EnergyAccount | null, key: string | null): Pick<ExportedTotals, 'joules' | 'tokensPerJoule'> {
  if (!run) return { joules: null, tokensPerJoule: null };
  if (key === null) {
    const busy = run.joules - run.idleJoules;
    return { joules: busy, tokensPerJoule: tokensPerJoule(run.tokens, busy) };
  }
  const share = run.byTask.get(key);
  return share
    ? { joules: share.joules, tokensPerJoule: tokensPerJoule(share.tokens, share.joules) }
    : { joules: 0, tokensPerJoule: null };
}

/** Joules per request (by its index in the ledger), where its backend's energy was measured. */
function requestJoules(book: TelemetryBook, ledger: Ledger): Map<number, number> {
  const index = new Map(ledger.records.map((r, i) => [r, i]));
  const joules = new Map<number, number>();
  for (const b of book.all()) {
    if (b.intervals.length === 0) continue;
    const records = ledger.records.filter((r) => r.endpoint === b.endpoint);
    for (const r of records) joules.set(index.get(r) ?? -1, 0);
    const account = attributeEnergy(b.intervals, records, undefined, (r) => String(index.get(r)));
    for (const [key, share] of account.byTask) joules.set(Number(key), share.joules);
  }
  return joules;
}

function exportedEnergy(
  backends: ReturnType<typeof energyReport>['backends'],
  run: EnergyAccount | null,
): ExportedEnergy {
  return {
    backends: backends.map((b) =>
      b.measured
        ? {
            endpoint: b.endpoint,
            measured: true as const,
            source: b.source,
            method: b.method,
            gpus: b.gpus,
            ...energyFigures(b.account),
          }
        : { endpoint: b.endpoint, measured: false as const, reason: b.reason },
    ),
    run: run ? energyFigures(run) : null,
  };
}

type RequestEvent = Extract<JournalEvent, { type: 'model_request' }>;

function exportedRequest(e: RequestEvent, joules: ReadonlyMap<number, number>, index: number): ExportedRequest {
  const { usage, timing } = e;
  const span = generationSpan(e.t, usage, timing);
  return {
    time: new Date(e.t).toISOString(),
    role: e.role,
    task: e.taskId,
    model: e.model,
    endpoint: e.endpoint,
    ok: e.ok,
    error: e.error ?? null,
    promptTokens: usage?.promptTokens ?? null,
    cachedTokens: usage?.cachedTokens ?? null,
    completionTokens: usage?.completionTokens ?? null,
    reasoningTokens: usage?.reasoningTokens ?? null,
    estimated: usage ? usage.estimated : null,
    ttftMs: timing?.ttftMs ?? null,
    durationMs: timing?.durationMs ?? null,
    tokensPerSecond: span ? outputRate([span]) : null,
    cost: e.cost,
    attempts: e.attempts,
    joules: joules.get(index) ?? null,
  };
}

/** The export as one JSON document (two-space indented, ending in a newline). */
export function ledgerJson(exported: LedgerExport): string {
  return `${JSON.stringify(exported, null, 2)}\n`;
}

/**
 * The requests as CSV (RFC 4180): a header row of CSV_COLUMNS, one row per request, CRLF line
 * ends, a field quoted when it holds a comma, a quote, CR or LF (its quotes doubled). Null is an
 * empty field; booleans are `true`/`false`; numbers are written exactly as JavaScript prints them.
 */
export function ledgerCsv(exported: LedgerExport): string {
  const rows = [CSV_COLUMNS.join(',')];
  for (const r of exported.requests) rows.push(CSV_COLUMNS.map((c) => csvField(r[c])).join(','));
  return `${rows.join('\r\n')}\r\n`;
}

/** One CSV field. */
export function csvField(value: string | number | boolean | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
