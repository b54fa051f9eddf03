/**
 * Reading inference servers' `/metrics` (src/core/backendMetrics.ts through the Prometheus text
 * parser of src/infra/prometheusText.ts) on samples in each server's real format
 * (test/fixtures/metrics, README there for where each format comes from).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deriveReading, readScrape } from '../../src/core/backendMetrics';
import type { MetricsScrape } from '../../src/core/backendMetrics';
import { parsePrometheusText } from '../../src/infra/prometheusText';
import { parseDcgmMetrics } from '../../src/infra/gpuEnergy';
import { defaultMetricsUrl } from '../../src/infra/backendTelemetry';
import { SimulatedGpu } from '../../src/scripted/gpu';

const scrapeOf = (name: string, atMs = 10_000): MetricsScrape => {
  const parsed = parsePrometheusText(readFileSync(join(__dirname, '..', 'fixtures', 'metrics', name), 'utf8'));
  assert.deepEqual(parsed.problems, [], `${name} parses without problems`);
  const scrape = readScrape(parsed.samples, atMs);
  assert.ok(scrape, `${name} is recognised`);
  return scrape;
};

/** The same scrape `seconds` earlier with its counters lower by `less`. */
function earlier(s: MetricsScrape, seconds: number, less: Partial<MetricsScrape>): MetricsScrape {
  const out: MetricsScrape = { ...s, atMs: s.atMs - seconds * 1000 };
  for (const [k, v] of Object.entries(less) as [keyof MetricsScrape, number][]) {
    (out as unknown as Record<string, number>)[k] = (s[k] as number) - v;
  }
  return out;
}

test('vLLM (V1 names): running, waiting, KV use; hit rate and tokens/s from the counters over the interval', () => {
  const now = scrapeOf('vllm.txt');
  assert.equal(now.server, 'vllm');
  const first = deriveReading(null, now);
  assert.deepEqual(
    { running: first.running, waiting: first.waiting, kv: first.kvCacheUse, hit: first.prefixHitRate },
    { running: 12, waiting: 3, kv: 0.4375, hit: null },
    'the first scrape has no interval: no hit rate and no tokens/s, never a lifetime average',
  );
  assert.equal(first.tokensPerSecond, null);
  const r = deriveReading(earlier(now, 2, { prefixQueries: 10_000, prefixHits: 9_300, generatedTokens: 1_500 }), now);
  assert.equal(r.prefixHitRate, 0.93);
  assert.equal(r.tokensPerSecond, 750);
});

test('vLLM before the renames: gpu_cache_usage_perc and gpu_prefix_cache_* are read the same way', () => {
  const now = scrapeOf('vllm-v0.txt');
  assert.deepEqual([now.server, now.running, now.waiting, now.kvCacheUse], ['vllm', 5, 0, 0.21]);
  assert.deepEqual([now.prefixQueries, now.prefixHits, now.generatedTokens], [2000, 600, 18123]);
  const r = deriveReading(earlier(now, 4, { prefixQueries: 200, prefixHits: 50, generatedTokens: 400 }), now);
  assert.deepEqual([r.prefixHitRate, r.tokensPerSecond], [0.25, 100]);
});

test('SGLang: num_running_reqs, num_queue_reqs, token_usage; its hit-rate gauge; tokens/s from generation_tokens_total', () => {
  const now = scrapeOf('sglang.txt');
  const first = deriveReading(null, now);
  assert.deepEqual(
    [first.server, first.running, first.waiting, first.kvCacheUse, first.prefixHitRate, first.tokensPerSecond],
    ['sglang', 162, 2826, 0.28, 0.007507552643049313, 2574.3],
    'without an interval the server’s own gauges stand in',
  );
  const r = deriveReading(earlier(now, 1, { generatedTokens: 3000 }), now);
  assert.equal(r.tokensPerSecond, 3000);
});

test('llama.cpp server: requests_processing/deferred, kv_cache_usage_ratio, tokens_predicted_total; no prefix counters', () => {
  const now = scrapeOf('llamacpp.txt');
  const r = deriveReading(earlier(now, 10, { generatedTokens: 384 }), now);
  assert.deepEqual(
    [r.server, r.running, r.waiting, r.kvCacheUse, r.prefixHitRate, r.tokensPerSecond],
    ['llamacpp', 1, 0, 0.0576, null, 38.4],
  );
});

test('Dynamo frontend: running is in-flight minus queued; no KV or prefix figures (null, not 0)', () => {
  const now = scrapeOf('dynamo-frontend.txt');
  const r = deriveReading(earlier(now, 5, { generatedTokens: 10_000 }), now);
  assert.deepEqual(
    [r.server, r.running, r.waiting, r.kvCacheUse, r.prefixHitRate, r.tokensPerSecond],
    ['dynamo', 3, 7, null, null, 2000],
  );
  const newer = readScrape(
    parsePrometheusText('dynamo_frontend_active_requests{model="m"} 5\ndynamo_frontend_queued_requests{model="m"} 2\n')
      .samples,
    0,
  );
  assert.equal(newer && deriveReading(null, newer).running, 3, 'the newer name active_requests is read too');
});

test('several engines: counts and counters add up, the KV share is averaged', () => {
  const text = [
    'vllm:num_requests_running{engine="0",model_name="m"} 2.0',
    'vllm:num_requests_running{engine="1",model_name="m"} 3.0',
    'vllm:kv_cache_usage_perc{engine="0",model_name="m"} 0.2',
    'vllm:kv_cache_usage_perc{engine="1",model_name="m"} 0.4',
  ].join('\n');
  const s = readScrape(parsePrometheusText(text).samples, 0);
  assert.ok(s);
  assert.equal(s.running, 5);
  assert.ok(Math.abs((s.kvCacheUse ?? 0) - 0.3) < 1e-12);
});

test('a counter that went backwards (server restarted) gives no rate for that interval', () => {
  const now = scrapeOf('vllm.txt');
  const before = { ...now, atMs: now.atMs - 2000, generatedTokens: (now.generatedTokens ?? 0) + 5 };
  assert.equal(deriveReading(before, now).tokensPerSecond, null);
});

test('text with none of the known names is not taken for a server; an exporter is not a server', () => {
  const dcgm = readFileSync(join(__dirname, '..', 'fixtures', 'metrics', 'dcgm-exporter.txt'), 'utf8');
  assert.equal(readScrape(parsePrometheusText(dcgm).samples, 0), null);
  assert.equal(readScrape(parsePrometheusText('process_cpu_seconds_total 12.5\n').samples, 0), null);
});

test('dcgm-exporter sample: both GPUs, power in W and the energy counter in mJ', () => {
  const dcgm = readFileSync(join(__dirname, '..', 'fixtures', 'metrics', 'dcgm-exporter.txt'), 'utf8');
  const { readings, problems } = parseDcgmMetrics(dcgm, 5);
  assert.deepEqual(problems, []);
  assert.deepEqual(readings, [
    { gpu: '0', atMs: 5, powerW: 694.512, energyMj: 8123456789 },
    { gpu: '1', atMs: 5, powerW: 78.204, energyMj: 1234567890 },
  ]);
});

test("the simulated GPU's /metrics reads as vLLM, and its exporter text as a dcgm-exporter's", () => {
  const gpu = new SimulatedGpu({ slots: 4 });
  try {
    const s = readScrape(parsePrometheusText(gpu.metricsText('m')).samples, 0);
    assert.deepEqual([s?.server, s?.running, s?.waiting, s?.kvCacheUse], ['vllm', 0, 0, 0]);
    const { readings, problems } = parseDcgmMetrics(gpu.dcgmText(), 1);
    assert.deepEqual(problems, []);
    assert.equal(readings.length, 1);
    assert.equal(readings[0].powerW, 78, 'idle draw');
    assert.ok((readings[0].energyMj ?? -1) >= 0);
  } finally {
    gpu.close();
  }
});

test('the default /metrics URL is at the API host, without /v1', () => {
  assert.equal(defaultMetricsUrl('http://gpu-box:8000/v1'), 'http://gpu-box:8000/metrics');
  assert.equal(defaultMetricsUrl('http://localhost:8080/v1/'), 'http://localhost:8080/metrics');
  assert.equal(defaultMetricsUrl('http://localhost:8080'), 'http://localhost:8080/metrics');
  assert.equal(defaultMetricsUrl('not a url'), null);
});
