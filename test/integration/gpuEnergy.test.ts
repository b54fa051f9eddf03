/**
 * The GPU energy meter (src/infra/gpuEnergy.ts) against real processes and a real HTTP server:
 * an `nvidia-smi` stand-in script that prints lines of the H200 capture, a dcgm-exporter stand-in
 * that serves its text format, and a machine with neither.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEnergyMeter, dcgmExporterSource, NO_GPU_POWER, nvidiaSmiSource } from '../../src/infra/gpuEnergy';
import { createBackendWatch } from '../../src/infra/backendTelemetry';
import { integratePower, parseNvidiaSmiCsv } from '../../src/core/gpuEnergy';
import type { TelemetryEvent } from '../../src/core/telemetry';

/** The fields the stand-in prints (without power.draw.instant), in its order. */
const FIELDS_LOAD = ['timestamp', 'index', 'power.draw'];

const LOAD = readFileSync(join(__dirname, '..', 'fixtures', 'gpu-h200', 'query-load.csv'), 'utf8').split('\n');

/** A script standing in for nvidia-smi: prints line N of the capture (4 fields) on its Nth run. */
function fakeSmi(dir: string, instant: boolean): string {
  const rows = LOAD.filter((l) => l !== '').map((l) => {
    const c = l.split(', ');
    return instant ? [c[0], c[1], c[4], c[6]].join(', ') : [c[0], c[1], c[4]].join(', ');
  });
  writeFileSync(join(dir, 'rows'), rows.join('\n') + '\n');
  const script = join(dir, 'nvidia-smi');
  const refuse = instant
    ? ''
    : 'case "$1" in *instant*) echo \'Field "power.draw.instant" is not a valid field to query.\'; exit 2;; esac\n';
  writeFileSync(
    script,
    `#!/bin/sh\n${refuse}n=$(cat "${dir}/n" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "${dir}/n"\nsed -n "\${n}p" "${dir}/rows"\n`,
  );
  chmodSync(script, 0o755);
  return script;
}

test('no source answers: a sentence saying no GPU power is readable, never a number', async () => {
  const meter = createEnergyMeter([nvidiaSmiSource({ command: '/nonexistent/nvidia-smi' })]);
  const start = await meter.read();
  assert.equal(start.readable, false);
  assert.ok(!start.readable && start.reason.startsWith(`${NO_GPU_POWER}: /nonexistent/nvidia-smi is not installed.`));
  const span = meter.joulesBetween(start, await meter.read());
  assert.equal(span.readable, false);
  const dir = mkdtempSync(join(tmpdir(), 'foreman-smi-'));
  try {
    const broken = join(dir, 'nvidia-smi');
    const message = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.";
    writeFileSync(broken, `#!/bin/sh\necho "${message}"\nexit 9\n`);
    chmodSync(broken, 0o755);
    const failed = await createEnergyMeter([nvidiaSmiSource({ command: broken })]).read();
    assert.deepEqual(failed, { readable: false, reason: `${NO_GPU_POWER}: ${broken} failed: ${message}` });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const none = await createEnergyMeter([]).read();
  assert.deepEqual(none, { readable: false, reason: `${NO_GPU_POWER}: no source was configured.` });
});

test('nvidia-smi samples are integrated between two snapshots, and the figure says integrated', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'foreman-smi-'));
  try {
    for (const instant of [true, false]) {
      rmSync(join(dir, 'n'), { force: true });
      let clock = 0;
      const meter = createEnergyMeter([nvidiaSmiSource({ command: fakeSmi(dir, instant) })], {
        now: () => (clock += 250),
      });
      const start = await meter.read();
      assert.ok(start.readable && start.source === 'nvidia-smi');
      assert.equal(start.gpus[0].powerInstantW, instant ? 78.21 : undefined);
      for (let i = 0; i < 3; i++) await meter.read();
      const end = await meter.read();
      const span = meter.joulesBetween(start, end);
      assert.ok(span.readable);
      // Readings 1-5 of the capture at the meter's 250 ms: 78.55, 78.55, 78.53, 78.54, 78.52 W over 1 s.
      assert.equal(span.figures[0].method, 'integrated');
      assert.ok(Math.abs(span.figures[0].joules - 78.54) < 0.01, `${span.figures[0].joules}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a dcgm-exporter energy counter is preferred to its power, and an unreachable one is named', async () => {
  let energyMj = 1_000_000;
  const server = createServer((_req, res) => {
    res.end(
      `# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter\nDCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{gpu="0",UUID="GPU-x"} ${energyMj}\n` +
        `DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-x"} 692.0\n`,
    );
    energyMj += 8_338_000;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
    let clock = 0;
    const meter = createEnergyMeter(
      [nvidiaSmiSource({ command: '/nonexistent/nvidia-smi' }), dcgmExporterSource(url)],
      {
        now: () => (clock += 12_050),
      },
    );
    const start = await meter.read();
    const end = await meter.read();
    assert.ok(end.readable && end.source === `dcgm-exporter ${url}`);
    const span = meter.joulesBetween(start, end);
    assert.ok(span.readable);
    assert.deepEqual(
      span.figures.map((f) => [f.gpu, f.joules, f.method]),
      [['0', 8338, 'counter']],
    );
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  const gone = await createEnergyMeter([dcgmExporterSource('http://127.0.0.1:9/metrics')]).read();
  assert.ok(!gone.readable && gone.reason.includes('http://127.0.0.1:9/metrics could not be read'));
});

test('the backend watch over nvidia-smi: one energy event per poll, adding up to the capture integrated', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'foreman-smi-'));
  try {
    const script = fakeSmi(dir, false);
    // The capture's own times as the watch's clock, so its intervals are the capture's.
    const printed = LOAD.filter((l) => l !== '').map((l) => {
      const c = l.split(', ');
      return [c[0], c[1], c[4]].join(', ');
    });
    const rows = parseNvidiaSmiCsv(printed.join('\n'), FIELDS_LOAD).readings;
    assert.equal(rows.length, printed.length);
    let n = 0;
    const events: TelemetryEvent[] = [];
    const watch = createBackendWatch(
      [{ endpoint: 'http://gpu/v1', metricsUrl: null, energy: { source: 'nvidia-smi', command: script } }],
      { intervalMs: 5, now: () => rows[Math.min(n++, rows.length - 1)].atMs },
    );
    const running = watch.start((e) => events.push(e));
    const deadline = Date.now() + 30_000;
    while (events.filter((e) => e.type === 'energy').length < 40 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 5));
    await running.stop();
    const energy = events.flatMap((e) => (e.type === 'energy' ? [e] : []));
    const reads = energy.length + 1;
    assert.deepEqual(
      events.filter((e) => e.type === 'telemetry_unavailable').map((e) => e.type === 'telemetry_unavailable' && e.what),
      ['metrics'],
      'metrics turned off: said once; energy read',
    );
    assert.ok(energy.every((e) => e.source === 'nvidia-smi' && e.gpus[0].method === 'integrated'));
    const recorded = energy.reduce((s, e) => s + e.gpus[0].joules, 0);
    const expected = integratePower(rows.slice(0, reads), (r) => r.powerW);
    assert.ok(expected);
    assert.ok(Math.abs(recorded - expected.joules) < 1e-6, `${recorded} J recorded, ${expected.joules} J integrated`);
    // Readings 1-41 cover idle and the start of the matmul: far above 78 W × 10 s.
    assert.ok(recorded > 78 * 10);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
