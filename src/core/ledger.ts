/**
 * The token ledger: prices, the cost of one request, running totals, and a record of every model
 * request of a run with totals per task, role, endpoint and model. Pure data; the run feeds it as
 * requests finish, and a reader rebuilds it from the journal's `model_request` events.
 */
import type { JournalEvent, RequestRole } from './journal';
import type { RequestTiming, Usage } from './model';
import { generationSpan, outputRate } from './throughput';
import type { GenerationSpan } from './throughput';

/** Money per million tokens, in whatever currency the price table uses. */
export interface Price {
  input: number;
  cachedInput: number;
  output: number;
}

/** Prices by model name; the key `"*"` prices every model not named. */
export type PriceTable = Record<string, Price>;

/** Running totals over a set of requests. */
export interface TokenTotals {
  /** Requests counted, failed ones included. */
  requests: number;
  /** Prompt tokens, cached ones included. */
  input: number;
  /** Prompt tokens the server reported as served from its cache (unreported counts as 0). */
  cached: number;
  /** Completion tokens, reasoning included. */
  output: number;
  /** Reasoning tokens the server reported (part of `output`). */
  reasoning: number;
  /** True when any counted usage was a tokenizer estimate. */
  estimated: boolean;
  /** Sum of the priced requests' costs; null only while no request had a price. */
  cost: number | null;
  /**
   * Requests that used tokens without a price: while this is above 0, `cost` covers only the
   * priced part (and is null when nothing was priced). A front end says so next to the cost.
   */
  unpriced: number;
  /** Wall time of the requests, summed. */
  durationMs: number;
}

/** One model request as the ledger keeps it. */
export interface LedgerRecord {
  role: RequestRole;
  taskId: string | null;
  model: string;
  endpoint: string;
  ok: boolean;
  usage: Usage | null;
  timing: RequestTiming | null;
  cost: number | null;
  /** When the request was booked (its end), in wall-clock ms: where its generation span ends. */
  at: number;
}

/**
 * The price of `model`: its own entry, else the `"*"` entry, else null (unpriced).
 */
export function priceFor(table: PriceTable, model: string): Price | null {
  if (Object.prototype.hasOwnProperty.call(table, model)) return table[model];
  if (Object.prototype.hasOwnProperty.call(table, '*')) return table['*'];
  return null;
}

/**
 * What one request cost: cached prompt tokens at `cachedInput`, the rest of the prompt at
 * `input`, all completion tokens (reasoning included) at `output`. When the server did not report
 * cached tokens, the whole prompt is billed at `input`. Null when `price` is null.
 */
export function costOf(usage: Usage, price: Price | null): number | null {
  if (!price) return null;
  const cached = Math.min(Math.max(usage.cachedTokens ?? 0, 0), usage.promptTokens);
  const fresh = usage.promptTokens - cached;
  return (fresh * price.input + cached * price.cachedInput + usage.completionTokens * price.output) / 1_000_000;
}

/** Totals of nothing. */
export function emptyTotals(): TokenTotals {
  return {
    requests: 0,
    input: 0,
    cached: 0,
    output: 0,
    reasoning: 0,
    estimated: false,
    cost: null,
    unpriced: 0,
    durationMs: 0,
  };
}

/**
 * Add one request to `totals` (mutating it). `usage` and `timing` may be null for a request that
 * failed before the server answered; it still counts as a request.
 */
export function addUsage(
  totals: TokenTotals,
  usage: Usage | null,
  cost: number | null,
  timing: RequestTiming | null,
): void {
  totals.requests += 1;
  if (usage) {
    totals.input += usage.promptTokens;
    totals.cached += usage.cachedTokens ?? 0;
    totals.output += usage.completionTokens;
    totals.reasoning += usage.reasoningTokens ?? 0;
    if (usage.estimated) totals.estimated = true;
    if (cost === null && usage.promptTokens + usage.completionTokens > 0) totals.unpriced += 1;
  }
  if (cost !== null) totals.cost = (totals.cost ?? 0) + cost;
  if (timing) totals.durationMs += timing.durationMs;
}

/** True when some of the tokens counted in `totals` had no price: its cost is missing or partial. */
export function partlyUnpriced(totals: Readonly<TokenTotals>): boolean {
  return totals.unpriced > 0;
}

/** The totals kept for `key` in `map`, created on first use. */
function totalsIn<K>(map: Map<K, TokenTotals>, key: K): TokenTotals {
  let totals = map.get(key);
  if (!totals) {
    totals = emptyTotals();
    map.set(key, totals);
  }
  return totals;
}

/**
 * Every model request of a run, with totals kept up to date on each record (O(1) per record).
 * Totals returned by the getters are live objects owned by the ledger: read, don't mutate.
 */
export class Ledger {
  private readonly all: LedgerRecord[] = [];
  private readonly runTotals = emptyTotals();
  private readonly tasks = new Map<string, TokenTotals>();
  private readonly roles = new Map<RequestRole, TokenTotals>();
  private readonly endpoints = new Map<string, TokenTotals>();
  private readonly models = new Map<string, TokenTotals>();

  /** Rebuild a ledger from a journal: every `model_request` event, in order; others are skipped. */
  static fromEvents(events: Iterable<JournalEvent>): Ledger {
    const ledger = new Ledger();
    for (const event of events) ledger.recordEvent(event);
    return ledger;
  }

  /** Count one request. */
  record(rec: LedgerRecord): void {
    this.all.push(rec);
    addUsage(this.runTotals, rec.usage, rec.cost, rec.timing);
    if (rec.taskId !== null) addUsage(totalsIn(this.tasks, rec.taskId), rec.usage, rec.cost, rec.timing);
    addUsage(totalsIn(this.roles, rec.role), rec.usage, rec.cost, rec.timing);
    addUsage(totalsIn(this.endpoints, rec.endpoint), rec.usage, rec.cost, rec.timing);
    addUsage(totalsIn(this.models, rec.model), rec.usage, rec.cost, rec.timing);
  }

  /** Count the request a journal event describes; events of other types are ignored. */
  recordEvent(event: JournalEvent): void {
    if (event.type !== 'model_request') return;
    const { role, taskId, model, endpoint, ok, usage, timing, cost } = event;
    this.record({ role, taskId, model, endpoint, ok, usage, timing, cost, at: event.t });
  }

  /** The generation spans (core/throughput.ts) of the requests `which` selects, all by default. */
  spans(which?: (rec: LedgerRecord) => boolean): GenerationSpan[] {
    const spans: GenerationSpan[] = [];
    for (const rec of this.all) {
      if (which && !which(rec)) continue;
      const span = generationSpan(rec.at, rec.usage, rec.timing);
      if (span) spans.push(span);
    }
    return spans;
  }

  /** Output tokens per second of generation time (core/throughput.ts) of the requests `which` selects; null when none was timed. */
  tokensPerSecond(which?: (rec: LedgerRecord) => boolean): number | null {
    return outputRate(this.spans(which));
  }

  /** Every request recorded, in order. */
  get records(): readonly LedgerRecord[] {
    return this.all;
  }

  /** Totals of the whole run. */
  get run(): Readonly<TokenTotals> {
    return this.runTotals;
  }

  /** Totals of one task (empty totals when it made no request). */
  task(taskId: string): Readonly<TokenTotals> {
    return this.tasks.get(taskId) ?? emptyTotals();
  }

  /** Totals of one role. */
  role(role: RequestRole): Readonly<TokenTotals> {
    return this.roles.get(role) ?? emptyTotals();
  }

  /** Totals of one endpoint (backend base URL). */
  endpoint(endpoint: string): Readonly<TokenTotals> {
    return this.endpoints.get(endpoint) ?? emptyTotals();
  }

  /** Totals of one model name. */
  model(model: string): Readonly<TokenTotals> {
    return this.models.get(model) ?? emptyTotals();
  }

  /** Totals by task id, in order of first request. */
  byTask(): ReadonlyMap<string, Readonly<TokenTotals>> {
    return this.tasks;
  }

  /** Totals by role, in order of first request. */
  byRole(): ReadonlyMap<RequestRole, Readonly<TokenTotals>> {
    return this.roles;
  }

  /** Totals by endpoint, in order of first request. */
  byEndpoint(): ReadonlyMap<string, Readonly<TokenTotals>> {
    return this.endpoints;
  }

  /** Totals by model, in order of first request. */
  byModel(): ReadonlyMap<string, Readonly<TokenTotals>> {
    return this.models;
  }
}
