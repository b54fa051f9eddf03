/**
 * What an inference server's Prometheus `/metrics` says about its load, whichever server it is:
 * vLLM, SGLang, llama.cpp's server or NVIDIA Dynamo's HTTP frontend. Each names the same facts its
 * own way, and vLLM renamed some between versions; every known spelling is listed in SPELLINGS
 * (test/fixtures/metrics/README.md says where each came from). Pure: src/infra/backendTelemetry.ts
 * fetches the text and src/infra/prometheusText.ts parses it into samples.
 *
 * A scrape keeps the raw gauges and counters; a reading (what is recorded and shown) is derived
 * from two scrapes: rates and hit ratios come from counter differences over the interval between
 * them, so they describe that interval, not the server's life. A value a server does not expose
 * is null, never 0.
 */
import type { MetricSample } from './gpuEnergy';

/** The servers whose metric names Foreman knows. */
export type MetricsServer = 'vllm' | 'sglang' | 'llamacpp' | 'dynamo';

/** The facts read from one scrape, summed over the server's series (engines, models, ranks). */
export interface MetricsScrape {
  server: MetricsServer;
  atMs: number;
  running?: number;
  waiting?: number;
  /** Requests in flight at a frontend, queued ones included (Dynamo): running is this minus `waiting`. */
  inflight?: number;
  /** Fraction of the KV cache in use, 0..1 (averaged over engines). */
  kvCacheUse?: number;
  /** Prefix-cache counters: prompt tokens looked up, and found. */
  prefixQueries?: number;
  prefixHits?: number;
  /** A server's own hit-rate gauge, 0..1, where it has no counters. */
  prefixHitRateGauge?: number;
  /** Output tokens generated so far (a counter). */
  generatedTokens?: number;
  /** A server's own tokens/s gauge, where it has no counter. */
  tokensPerSecondGauge?: number;
}

type Field = Exclude<keyof MetricsScrape, 'server' | 'atMs'>;

/** How several series of one metric combine: counts and counters add up, ratios are averaged. */
const MEAN_FIELDS: ReadonlySet<Field> = new Set(['kvCacheUse', 'prefixHitRateGauge', 'tokensPerSecondGauge']);

/**
 * Every known name, in order of preference within a field (the current name before the older
 * one): a scrape takes the first name of a field that the text has.
 */
export const SPELLINGS: Readonly<Record<MetricsServer, Partial<Record<Field, readonly string[]>>>> = {
  vllm: {
    running: ['vllm:num_requests_running'],
    waiting: ['vllm:num_requests_waiting'],
    kvCacheUse: ['vllm:kv_cache_usage_perc', 'vllm:gpu_cache_usage_perc'],
    prefixQueries: ['vllm:prefix_cache_queries_total', 'vllm:gpu_prefix_cache_queries_total'],
    prefixHits: ['vllm:prefix_cache_hits_total', 'vllm:gpu_prefix_cache_hits_total'],
    prefixHitRateGauge: ['vllm:gpu_prefix_cache_hit_rate'],
    generatedTokens: ['vllm:generation_tokens_total'],
    tokensPerSecondGauge: ['vllm:avg_generation_throughput_toks_per_s'],
  },
  sglang: {
    running: ['sglang:num_running_reqs'],
    waiting: ['sglang:num_queue_reqs'],
    kvCacheUse: ['sglang:token_usage'],
    prefixHitRateGauge: ['sglang:cache_hit_rate'],
    generatedTokens: ['sglang:generation_tokens_total'],
    tokensPerSecondGauge: ['sglang:gen_throughput'],
  },
  llamacpp: {
    running: ['llamacpp:requests_processing'],
    waiting: ['llamacpp:requests_deferred'],
    kvCacheUse: ['llamacpp:kv_cache_usage_ratio'],
    generatedTokens: ['llamacpp:tokens_predicted_total'],
    tokensPerSecondGauge: ['llamacpp:predicted_tokens_seconds'],
  },
  dynamo: {
    inflight: ['dynamo_frontend_active_requests', 'dynamo_frontend_inflight_requests'],
    waiting: ['dynamo_frontend_queued_requests'],
    generatedTokens: ['dynamo_frontend_output_tokens_total'],
  },
};

/** The prefix of each server's own names, to tell which server answered. */
const PREFIXES: readonly [MetricsServer, string][] = [
  ['vllm', 'vllm:'],
  ['sglang', 'sglang:'],
  ['llamacpp', 'llamacpp:'],
  ['dynamo', 'dynamo_frontend_'],
];

/** Human names of the servers, for sentences. */
export const SERVER_NAMES: Readonly<Record<MetricsServer, string>> = {
  vllm: 'vLLM',
  sglang: 'SGLang',
  llamacpp: 'llama.cpp',
  dynamo: 'Dynamo',
};

/**
 * The scrape in `samples`, or null when none of the known names is there. Where a text has the
 * names of several servers (Dynamo passes its engine's `vllm:`/`sglang:` metrics through), the
 * engine's are read and the frontend's fill in what they lack.
 */
export function readScrape(samples: readonly MetricSample[], atMs: number): MetricsScrape | null {
  const byName = new Map<string, number[]>();
  for (const s of samples) {
    if (!Number.isFinite(s.value)) continue;
    const list = byName.get(s.name);
    if (list) list.push(s.value);
    else byName.set(s.name, [s.value]);
  }
  const found = PREFIXES.filter(([server]) => Object.values(SPELLINGS[server]).some((names) => has(byName, names)));
  if (found.length === 0) return null;
  const scrape: MetricsScrape = { server: found[0][0], atMs };
  for (const [server] of found) {
    for (const [field, names] of Object.entries(SPELLINGS[server]) as [Field, readonly string[]][]) {
      if (scrape[field] !== undefined) continue;
      const name = names.find((n) => byName.has(n));
      const values = name === undefined ? undefined : byName.get(name);
      if (values === undefined) continue;
      const sum = values.reduce((a, b) => a + b, 0);
      scrape[field] = MEAN_FIELDS.has(field) ? sum / values.length : sum;
    }
  }
  return scrape;
}

function has(byName: ReadonlyMap<string, number[]>, names: readonly string[] | undefined): boolean {
  return names !== undefined && names.some((n) => byName.has(n));
}

/** What is recorded and shown of a backend at one moment. Null: the server does not say. */
export interface BackendReading {
  atMs: number;
  server: MetricsServer;
  running: number | null;
  waiting: number | null;
  /** 0..1. */
  kvCacheUse: number | null;
  /** Prefix-cache hits ÷ lookups over the interval since the previous scrape (0..1); null when nothing was looked up. */
  prefixHitRate: number | null;
  /** Output tokens per second over the interval since the previous scrape. */
  tokensPerSecond: number | null;
}

/**
 * The reading of `now`, with rates over the interval since `before` (the previous scrape of the
 * same server; null for the first). A counter that went backwards (the server restarted) gives no
 * rate for that interval; the server's own gauge stands in where it has one.
 */
export function deriveReading(before: MetricsScrape | null, now: MetricsScrape): BackendReading {
  const running =
    now.running ?? (now.inflight !== undefined ? Math.max(0, now.inflight - (now.waiting ?? 0)) : undefined);
  return {
    atMs: now.atMs,
    server: now.server,
    running: running ?? null,
    waiting: now.waiting ?? null,
    kvCacheUse: now.kvCacheUse ?? null,
    prefixHitRate: hitRate(before, now) ?? now.prefixHitRateGauge ?? null,
    tokensPerSecond: tokenRate(before, now) ?? now.tokensPerSecondGauge ?? null,
  };
}

function delta(before: MetricsScrape | null, now: MetricsScrape, field: Field): number | undefined {
  const a = before?.[field];
  const b = now[field];
  if (before === null || before.server !== now.server || a === undefined || b === undefined) return undefined;
  return b >= a ? b - a : undefined;
}

function hitRate(before: MetricsScrape | null, now: MetricsScrape): number | undefined {
  const queries = delta(before, now, 'prefixQueries');
  const hits = delta(before, now, 'prefixHits');
  if (queries === undefined || hits === undefined || queries <= 0) return undefined;
  return Math.min(1, hits / queries);
}

function tokenRate(before: MetricsScrape | null, now: MetricsScrape): number | undefined {
  const tokens = delta(before, now, 'generatedTokens');
  const ms = before === null ? 0 : now.atMs - before.atMs;
  if (tokens === undefined || ms <= 0) return undefined;
  return (tokens * 1000) / ms;
}
