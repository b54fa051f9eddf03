/**
 * Energy over several endpoints: foreman.json's `backends` names two replicas of one model, each a
 * scripted server with its own simulated GPU and its own dcgm-exporter text, and each endpoint its
 * own energy source. A real CLI run reads both while it is driven; `foreman export` has each
 * endpoint's joules and the run's as their sum, every request's share where its endpoint was
 * measured, and each endpoint's joules no more than its GPU counted. Two endpoints naming one
 * source are refused in a sentence (its GPUs would be counted twice).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LedgerExport } from '../../src/core/ledgerExport';
import { SimulatedGpu } from '../../src/scripted/gpu';
import { toolCall } from '../../src/scripted/scenario';
import { DCGM_PATH } from '../../src/scripted/server';
import type { ScriptedServer } from '../../src/scripted/server';
import { latestRunId, makeRepo, rawTask, runCli, startServer } from './runHarness';

const TASKS = ['a', 'b', 'c', 'd'];
const dcgmOf = (s: ScriptedServer): string => `${new URL(s.url).origin}${DCGM_PATH}`;

test(
  'two endpoints, each with its own GPU and energy source: each is measured, and the run is their sum',
  { timeout: 120_000 },
  async () => {
    const gpus = [new SimulatedGpu({ slots: 4, speed: 0.05 }), new SimulatedGpu({ slots: 4, speed: 0.05 })];
    const scenario = {
      defaultAgent: [
        toolCall('write_file', { path: 'out.txt', content: `${'x'.repeat(400)}\n` }),
        toolCall('finish', { summary: 'wrote it' }),
      ],
    };
    const servers = await Promise.all(gpus.map((gpu) => startServer(scenario, { gpu, model: 'm' })));
    const backends = servers.map((s, i) => ({
      name: `gpu${i}`,
      baseUrl: s.url,
      models: ['m'],
      energy: { source: 'dcgm', url: dcgmOf(s) },
    }));
    const repo = makeRepo({ files: { 'foreman.json': JSON.stringify({ backends }) } });
    try {
      const tasks = TASKS.map((id) => rawTask(id, { files: [`${id}/out.txt`] }));
      const plan = join(repo.root, '..', 'plan-energy.json');
      writeFileSync(plan, JSON.stringify({ version: 1, spec: 'Four files.', tasks }));
      const r = await runCli(['run', '--plan', plan, '--concurrency', '4', '--no-review', '--no-checks'], {
        repo,
        timeoutMs: 100_000,
      });
      assert.equal(r.code, 0, r.stderr);
      const runId = await latestRunId(repo);
      const exported = await runCli(['export', runId], { repo });
      assert.equal(exported.code, 0, exported.stderr);
      const x = JSON.parse(exported.stdout) as LedgerExport;
      const measured = x.energy.backends.flatMap((b) => (b.measured ? [b] : []));
      assert.deepEqual(
        measured.map((b) => b.endpoint).sort(),
        servers.map((s) => s.url).sort(),
        'each endpoint measured from its own source',
      );
      for (const b of measured) assert.ok(b.joules > 0 && b.source.includes(DCGM_PATH), JSON.stringify(b));
      const sum = measured.reduce((s, b) => s + b.joules, 0);
      assert.ok(x.energy.run && Math.abs(x.energy.run.joules - sum) < 1e-6, 'the run is the endpoints together');
      assert.ok(
        x.requests.every((q) => q.joules !== null),
        'every request has its share: both endpoints were measured',
      );
      for (const [i, s] of servers.entries()) {
        const own = measured.find((b) => b.endpoint === s.url);
        assert.ok(own && own.joules <= gpus[i].snapshot().joules + 0.5, `${s.url}: no more than its GPU counted`);
      }
    } finally {
      await Promise.all(servers.map((s) => s.close()));
      for (const gpu of gpus) gpu.close();
      repo.cleanup();
    }
  },
);

test('two endpoints naming one energy source are refused in a sentence', async () => {
  const repo = makeRepo();
  try {
    const url = 'http://127.0.0.1:9/dcgm/metrics';
    const backends = ['one', 'two'].map((name, i) => ({
      name,
      baseUrl: `http://127.0.0.1:${9000 + i}/v1`,
      models: ['m'],
      energy: { source: 'dcgm', url },
    }));
    writeFileSync(join(repo.root, 'foreman.json'), JSON.stringify({ backends }));
    const r = await runCli(['backends'], { repo });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /backends "one" and "two" read their energy from the same source .* counted twice/);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  } finally {
    repo.cleanup();
  }
});
