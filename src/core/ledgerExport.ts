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
}

/** Totals of a set of requests: the ledger's, with their tokens per second. */
export interface ExportedTotals extends TokenTotals {
  /** Output tokens per second of generation time; null when no request was timed. */
  tokensPerSecond: number | null;
}

/** The JSON export of a run. */
export interface LedgerExport {
  runId: string | null;
  requests: ExportedRequest[];
  /** Per task, in order of first request (the planner's requests belong to no task). */
  tasks: (ExportedTotals & { task: string })[];
  /** The whole run, the planner's requests included. */
  total: ExportedTotals;
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
] as const satisfies readonly (keyof ExportedRequest)[];

/** The run's requests and totals, from its journal's events. */
export function exportLedger(events: readonly JournalEvent[]): LedgerExport {
  const ledger = Ledger.fromEvents(events);
  const started = events.find((e) => e.type === 'run_started');
  const totals = (t: Readonly<TokenTotals>, which?: (taskId: string | null) => boolean): ExportedTotals => ({
    ...t,
    tokensPerSecond: ledger.tokensPerSecond(which && ((rec) => which(rec.taskId))),
  });
  return {
    runId: started?.type === 'run_started' ? started.runId : null,
    requests: events.flatMap((e) => (e.type === 'model_request' ? [exportedRequest(e)] : [])),
    tasks: [...ledger.byTask()].map(([task, t]) => ({ task, ...totals(t, (id) => id === task) })),
    total: totals(ledger.run),
  };
}

type RequestEvent = Extract<JournalEvent, { type: 'model_request' }>;

function exportedRequest(e: RequestEvent): ExportedRequest {
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
