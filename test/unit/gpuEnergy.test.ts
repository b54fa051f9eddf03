/**
 * The GPU energy parsers and arithmetic (src/core/gpuEnergy.ts, src/infra/prometheusText.ts, src/infra/gpuEnergy.ts) on the
 * real captures of one H200 in test/fixtures/gpu-h200 (byte-identical copies of shared/fixtures).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  energyBetween,
  integratePower,
  nvidiaSmiTimestampMs,
  parseNvidiaSmiCsv,
  parseNvmlEnergySummary,
} from '../../src/core/gpuEnergy';
import { parsePrometheusText } from '../../src/infra/prometheusText';
import { parseDcgmMetrics } from '../../src/infra/gpuEnergy';

const fixture = (name: string): string => readFileSync(join(__dirname, '..', 'fixtures', 'gpu-h200', name), 'utf8');

/** The `--query-gpu` list the README gives for both CSV captures. */
const FIELDS = (
  'timestamp,index,name,uuid,power.draw,power.draw.average,power.draw.instant,power.limit,' +
  'enforced.power.limit,utilization.gpu,utilization.memory,memory.used,memory.total,clocks.sm,temperature.gpu'
).split(',');

test('query-idle.csv: columns come from the header, units are stripped from names and values', () => {
  const { readings, problems } = parseNvidiaSmiCsv(fixture('query-idle.csv'));
  assert.deepEqual(problems, []);
  assert.deepEqual(readings, [
    { gpu: '0', atMs: nvidiaSmiTimestampMs('2026/12/04 14:55:37.855'), powerW: 78.56, powerInstantW: 78.53 },
  ]);
});

test('query-load.csv (noheader, nounits): every line is a reading of GPU 0 over 38.65 s', () => {
  const { readings, problems } = parseNvidiaSmiCsv(fixture('query-load.csv'), FIELDS);
  assert.deepEqual(problems, []);
  assert.equal(readings.length, 155);
  assert.ok(readings.every((r) => r.gpu === '0' && r.powerW !== undefined && r.powerInstantW !== undefined));
  assert.equal(readings[readings.length - 1].atMs - readings[0].atMs, 38_654);
  assert.equal(Math.max(...readings.map((r) => r.powerW ?? 0)), 698.5);
});

test('integrating power.draw over the whole of query-load.csv gives about 19.45 kJ, marked integrated', () => {
  const { readings } = parseNvidiaSmiCsv(fixture('query-load.csv'), FIELDS);
  const { figures, unknown } = energyBetween(readings, readings[0].atMs, readings[readings.length - 1].atMs);
  assert.deepEqual(unknown, []);
  assert.equal(figures.length, 1);
  assert.equal(figures[0].method, 'integrated');
  assert.equal(figures[0].readings, 155);
  assert.ok(Math.abs(figures[0].joules - 19_450) < 50, `${figures[0].joules} J`);
  // The momentary reading integrates to within 0.2% of the one-second average over the same span.
  const instant = integratePower(readings, (r) => r.powerInstantW);
  assert.ok(instant !== undefined && Math.abs(instant.joules / figures[0].joules - 1) < 0.002);
});

test('a span takes only the readings inside it: the first 3 s of query-load.csv are idle, ~78 W', () => {
  const { readings } = parseNvidiaSmiCsv(fixture('query-load.csv'), FIELDS);
  const { figures } = energyBetween(readings, readings[0].atMs, readings[0].atMs + 3000);
  const watts = figures[0].joules / ((figures[0].toMs - figures[0].fromMs) / 1000);
  assert.ok(Math.abs(watts - 78.5) < 0.5, `${watts} W`);
});

test('[N/A] and [Not Supported] are missing values, never 0; a GPU with no power is unknown, not 0 J', () => {
  const text = [
    '2026/12/04 14:55:37.887, 0, [N/A], [Not Supported]',
    '2026/12/04 14:55:38.143, 0, [N/A], [Not Supported]',
    '2026/12/04 14:55:37.887, 1, 100.00, [Not Supported]',
    '2026/12/04 14:55:38.887, 1, 200.00, [Not Supported]',
  ].join('\n');
  const { readings, problems } = parseNvidiaSmiCsv(text, ['timestamp', 'index', 'power.draw', 'power.draw.instant']);
  assert.deepEqual(problems, []);
  assert.deepEqual(readings[0], { gpu: '0', atMs: nvidiaSmiTimestampMs('2026/12/04 14:55:37.887') });
  const { figures, unknown } = energyBetween(readings, 0, Number.MAX_SAFE_INTEGER);
  assert.deepEqual(
    figures.map((f) => [f.gpu, f.joules, f.method]),
    [['1', 150, 'integrated']],
  );
  assert.equal(unknown.length, 1);
  assert.equal(unknown[0].gpu, '0');
});

test('a line that does not fit is named in a sentence and the rest is kept; missing fields are refused', () => {
  const lines = fixture('query-load.csv').split('\n');
  const { readings, problems } = parseNvidiaSmiCsv([lines[0], 'garbage', lines[1]].join('\n'), FIELDS);
  assert.equal(readings.length, 2);
  assert.deepEqual(problems, ['Line 2 has 1 fields where 15 were expected.']);
  const refused = parseNvidiaSmiCsv(lines[0], ['power.draw']);
  assert.deepEqual(refused.readings, []);
  assert.match(refused.problems[0], /must include timestamp and index/);
});

test("nvml-energy.txt: each phase's measured figures, as the README's table gives them", () => {
  const phases = parseNvmlEnergySummary(fixture('nvml-energy.txt'));
  // The header lines (driver, power limit) are not phases.
  assert.deepEqual(
    phases.map((p) => p.label),
    ['idle', 'matmul', 'decode-like bs=1', 'decode-like bs=64'],
  );
  const [idle, matmul, bs1, bs64] = phases;
  assert.deepEqual(idle, { label: 'idle', joules: 235.3, seconds: 3.01, watts: 78.2, instantWatts: 78.5 });
  assert.equal(matmul.joules, 8338);
  assert.equal(matmul.seconds, 12.05);
  assert.equal(matmul.watts, 692);
  assert.equal(matmul.teraflopsPerJoule, 0.95);
  assert.deepEqual([bs1.tokensPerSecond, bs1.watts, bs1.tokensPerJoule], [235, 584, 0.4]);
  assert.deepEqual([bs64.tokensPerSecond, bs64.watts, bs64.tokensPerJoule], [14365, 695, 20.66]);
  // Tokens per joule is tokens per second over watts, to the capture's rounding.
  for (const p of [bs1, bs64])
    assert.ok(Math.abs((p.tokensPerSecond ?? 0) / (p.watts ?? 1) - (p.tokensPerJoule ?? 0)) < 0.01);
});

test("the NVML phases add up to the README's ~19.2 kJ, within ~1.5% of the integrated 19.45 kJ", () => {
  const [idle, matmul, bs1, bs64] = parseNvmlEnergySummary(fixture('nvml-energy.txt'));
  // The README's durations: decode 8 s + 8 s, and ~5 s of idle between phases at the idle draw.
  const counter =
    (idle.joules ?? 0) + (matmul.joules ?? 0) + (bs1.watts ?? 0) * 8 + (bs64.watts ?? 0) * 8 + (idle.watts ?? 0) * 5;
  assert.ok(Math.abs(counter - 19_200) < 50, `${counter} J`);
  const { readings } = parseNvidiaSmiCsv(fixture('query-load.csv'), FIELDS);
  const integrated = integratePower(readings, (r) => r.powerW)?.joules ?? 0;
  assert.ok(Math.abs(integrated / counter - 1) < 0.015);
});

test('dcgm.txt holds no exporter output (no DCGM on the capture machine): no readings, and problems say so', () => {
  const { readings, problems } = parseDcgmMetrics(fixture('dcgm.txt'), 0);
  assert.deepEqual(readings, []);
  assert.equal(problems.length, 2);
});

/** dcgm-exporter's shape (its field names, units and labels), written here: no real capture exists. */
const DCGM = `# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).
# TYPE DCGM_FI_DEV_POWER_USAGE gauge
DCGM_FI_DEV_POWER_USAGE{gpu="0", UUID="GPU-3067e31e", device="nvidia0", modelName="NVIDIA H200"} 78.560000
DCGM_FI_DEV_POWER_USAGE{gpu="1",UUID="GPU-aaaa",device="nvidia1",modelName="NVIDIA H200"} 692.000000
# HELP DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION Total energy consumption since boot (in mJ).
# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter
DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{gpu="0", UUID="GPU-3067e31e", device="nvidia0", modelName="NVIDIA H200"} 31035686671
DCGM_FI_DEV_GPU_TEMP{gpu="0",UUID="GPU-3067e31e"} 35
`;

test('dcgm-exporter text: energy counter in mJ and power per gpu label; other metrics ignored', () => {
  const { readings, problems } = parseDcgmMetrics(DCGM, 1000);
  assert.deepEqual(problems, []);
  assert.deepEqual(readings, [
    { gpu: '0', atMs: 1000, powerW: 78.56, energyMj: 31035686671 },
    { gpu: '1', atMs: 1000, powerW: 692 },
  ]);
});

test('a counter is preferred over power; a counter that went backwards falls back to integration', () => {
  const at = (atMs: number, energyMj: number, powerW: number) => ({ gpu: '0', atMs, energyMj, powerW });
  const counted = energyBetween([at(0, 1_000_000, 100), at(10_000, 8_000_000, 900)], 0, 10_000);
  assert.deepEqual(counted.figures[0], {
    gpu: '0',
    joules: 7000,
    method: 'counter',
    fromMs: 0,
    toMs: 10_000,
    readings: 2,
  });
  const reset = energyBetween([at(0, 8_000_000, 100), at(10_000, 1_000, 300)], 0, 10_000);
  assert.deepEqual([reset.figures[0].joules, reset.figures[0].method], [2000, 'integrated']);
});

test('the Prometheus reader: escapes, special values, timestamps, and a bad line kept apart', () => {
  const { samples, problems } = parsePrometheusText(
    'a{l="x\\"y\\\\z\\n"} +Inf 1700000000000\nb NaN\nc{} -1.5e3\nbroken{l="x} 1\n',
  );
  assert.deepEqual(samples[0], { name: 'a', labels: { l: 'x"y\\z\n' }, value: Infinity, timestampMs: 1700000000000 });
  assert.ok(Number.isNaN(samples[1].value));
  assert.deepEqual(samples[2], { name: 'c', labels: {}, value: -1500 });
  assert.equal(problems.length, 1);
  assert.match(problems[0], /^Line 4 /);
});
