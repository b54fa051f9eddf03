/**
 * The Lead panel's Backends section in a real VS Code (code-server + Chromium), on a backend with a
 * GPU behind it: `node dist/scripted.js --scenario demo --gpu` (the demo's answers, each waiting
 * for its turn on a simulated continuous-batching GPU that serves vLLM's counters at /metrics and a
 * dcgm-exporter's power and energy at /dcgm/metrics), configured in the sample's own committed
 * `.vscode/settings.json` with `metricsUrl` and `energy: { source: 'dcgm', url }`. The demo spec is
 * planned and run from the panel; while it runs the section shows the latest reading and draws its
 * charts from the polls, and once it completes it shows the GPU's energy and the energy per task.
 * Screenshots: test-results/e2e/backends-live-{running,completed}.png (the window) and
 * backends-live-{running,completed}-section.png (the section alone).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { FrameLocator, Locator } from 'playwright-core';
import { PROJECT_ROOT, RESULTS_DIR, screenshot, waitFor } from './harness';
import { button, openLead, RUN_TIMEOUT_MS, stages, waitForPhase, waitForRun, waitForTask } from './lead';
import { DEMO_SPEC, useSampleSession } from './sample';

const DEMO_TASKS = ['discounts', 'receipt', 'checkout'];

let backend: ChildProcess | undefined;
let baseUrl = '';
let lead: FrameLocator;

/** Starts `node dist/scripted.js --scenario demo --gpu` and resolves with the URL it prints. */
async function startGpuBackend(): Promise<string> {
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'dist/scripted.js'), '--scenario', 'demo', '--gpu'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  backend = child;
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout });
  const url = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      const m = /^listening (\S+)$/.exec(line);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`dist/scripted.js --gpu exited with ${code}: ${stderr}`)));
  });
  return url;
}

const session = useSampleSession({
  timeoutMs: 180_000,
  settings: async () => {
    baseUrl = await startGpuBackend();
    const origin = new URL(baseUrl).origin;
    // The team's backend, shared in the repository's own settings (committed: the checkout stays clean).
    const repo = session.sample.repo;
    mkdirSync(join(repo, '.vscode'), { recursive: true });
    const workspace = {
      'foreman.backends': [
        {
          name: 'gpu',
          baseUrl,
          models: ['scripted-demo'],
          metricsUrl: `${origin}/metrics`,
          energy: { source: 'dcgm', url: `${origin}/dcgm/metrics` },
        },
      ],
      'foreman.defaultBackend': 'gpu',
    };
    writeFileSync(join(repo, '.vscode', 'settings.json'), `${JSON.stringify(workspace, null, 2)}\n`);
    session.sample.git('add', '.vscode/settings.json');
    session.sample.git('commit', '-q', '-m', 'Share the GPU backend');
    return {};
  },
  ready: async (s) => {
    await stages(s.vscode.page, 'backends-live-open')('panel', async () => {
      lead = await openLead(s.vscode);
    });
  },
});

after(() => {
  backend?.kill('SIGTERM');
});

test('the Backends section charts a GPU backend live while the demo runs, then its energy per task', async () => {
  const page = session.vscode.page;
  const stage = stages(page, 'backends-live');
  const section = lead.getByRole('region', { name: 'Backends' });
  const block = section.locator(`[data-endpoint="${baseUrl}"]`);
  await stage('plan', async () => {
    await waitForPhase(lead, 'compose');
    await waitFor(
      async () => /gpu/.test(await lead.getByLabel('Backend', { exact: true }).locator('option:checked').innerText()),
      'the workspace backend "gpu" to be chosen',
      15_000,
    );
    await lead.getByLabel('Spec', { exact: true }).fill(DEMO_SPEC);
    await button(lead, 'Plan').click();
    await waitForPhase(lead, 'plan', 60_000);
  });
  await stage('running', async () => {
    await button(lead, 'Run').click();
    await waitForPhase(lead, 'run');
    // While requests are on the GPU: a reading with something running, and charts with points.
    let caption = '';
    await waitFor(
      async () => {
        if ((await lead.locator('[data-run-status="running"]').count()) === 0) return false;
        caption = await block
          .locator('figure.spark')
          .first()
          .locator('.chart-now')
          .innerText({ timeout: 1_000 })
          .catch(() => '');
        const running = Number(/^(\d+) \/ \d+$/.exec(caption)?.[1] ?? 0);
        const drawn = await block
          .locator('figure.spark')
          .evaluateAll((charts) => charts.filter((c) => c.querySelector('polyline') !== null).length);
        return running >= 1 && drawn === 4;
      },
      'a reading with requests running and all four charts drawn, while the run runs',
      RUN_TIMEOUT_MS,
    ).catch((e: Error) => {
      throw new Error(`${e.message}; the running chart says "${caption}"`);
    });
    assert.match(await block.locator('.backend-head').innerText(), /\s*vLLM$/, 'the server is recognised as vLLM');
    await assertCharts(block);
    await showSection(section, 'backends-live-running');
  });
  await stage('completed', async () => {
    for (const id of DEMO_TASKS) await waitForTask(lead, id, ['merged']);
    await waitForRun(lead, ['completed']);
    const energy = block.locator('.backend-energy');
    await waitFor(
      async () => /tok\/J/.test(await energy.innerText().catch(() => '')),
      'the energy line with tokens per joule',
    );
    assert.match(
      await energy.innerText(),
      new RegExp(
        String.raw`^Energy: [\d.]+ k?J \(busy [\d.]+ k?J, idle [\d.]+ k?J\) · [\d.,k]+ tokens · [\d.]+ tok/J \([\d.]+ tok/J with idle\) · energy counter, dcgm-exporter ${escape(new URL(baseUrl).origin)}/dcgm/metrics, 1 GPU$`,
      ),
    );
    const table = section.getByRole('table', { name: 'Energy per task' });
    for (const id of DEMO_TASKS) {
      const row = (await table.locator(`[data-task="${id}"]`).innerText()).replace(/\s+/g, ' ');
      assert.match(row, new RegExp(`^${id} [\\d.]+ k?J [\\d.,k]+ [\\d.]+ tok/J$`), `the energy of ${id}: "${row}"`);
      assert.doesNotMatch(row, / 0 J /, `${id} drew energy`);
    }
    assert.doesNotMatch(await section.innerText(), /not measured|not read/);
    await assertCharts(block);
    await showSection(section, 'backends-live-completed');
  });
});

/**
 * The four charts, each with its caption's figure, and each drawn from at least two readings: the
 * running/waiting chart with its two lines, every other with its line and the area under it.
 */
async function assertCharts(block: Locator): Promise<void> {
  const charts = block.locator('figure.spark');
  assert.equal(await charts.count(), 4);
  const captions = await charts.locator('figcaption').allInnerTexts();
  const [running, kv, hits, generation] = captions.map((c) => c.replace(/\s+/g, ' ').trim());
  assert.match(running, /^Running \/ waiting \d+ \/ \d+$/);
  assert.match(kv, /^KV cache \d+%$/);
  assert.match(hits, /^Prefix hits (\d+%|n\/a)$/);
  assert.match(generation, /^Generation ([\d.,k]+|—) tok\/s$/);
  assert.equal(await charts.nth(0).locator('polyline').count(), 2, 'running and waiting are both drawn');
  for (let i = 0; i < 4; i++) {
    const line = charts.nth(i).locator('polyline').first();
    const pts = ((await line.getAttribute('points')) ?? '').trim().split(/\s+/);
    assert.ok(pts.length >= 2, `chart ${i + 1} (${captions[i]}) has ${pts.length} points`);
    // Far fewer readings than the 120 a chart holds: they span it, oldest at the left edge.
    assert.equal(pts[0].split(',')[0], '0.0', `chart ${i + 1} (${captions[i]}) starts at the left edge: ${pts[0]}`);
    assert.equal(pts.at(-1)?.split(',')[0], '120.0', `chart ${i + 1} (${captions[i]}) ends at the right edge`);
    assert.equal(await charts.nth(i).locator('.chart-empty').count(), 0, `chart ${i + 1} is not "not reported"`);
    assert.equal(await charts.nth(i).locator('polygon.chart-area').count(), 1);
  }
  // Something was generated between two polls: the generation line leaves the floor somewhere.
  const ys = ((await charts.nth(3).locator('polyline').getAttribute('points')) ?? '')
    .trim()
    .split(/\s+/)
    .map((p) => Number(p.split(',')[1]));
  assert.ok(
    ys.some((y) => y < 32),
    `the generation chart rises above zero: ${ys.join(' ')}`,
  );
}

/** Scrolls the section into view and saves the window and the section alone. */
async function showSection(section: Locator, name: string): Promise<void> {
  await section.scrollIntoViewIfNeeded();
  await screenshot(section.page(), name);
  mkdirSync(RESULTS_DIR, { recursive: true });
  await section.screenshot({ path: join(RESULTS_DIR, `${name}-section.png`) });
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
