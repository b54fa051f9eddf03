/**
 * A run over two replicas of one model (foreman.json's `backends`), one of which dies mid-run: the
 * real CLI, real git, the real openai SDK against two scripted servers. Replica A's server is
 * closed while one of its agents waits for an answer, and started again on the same port a moment
 * later. Every task must still merge; the task that was on A goes on on B; the journal says that A
 * was taken out and the task moved; after its back-off A takes new tasks again; and every request
 * in the ledger names the replica that answered it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toolCall } from '../../src/scripted/scenario';
import type { Scenario, Step } from '../../src/scripted/scenario';
import type { ScriptedServer } from '../../src/scripted/server';
import { latestRunId, makeRepo, NODE_TEMPLATE, readRun, requestsFor, runCli, startServer } from './runHarness';
import type { ServerOptions } from './runHarness';

const TASKS = 8;

function scenario(): { scenario: Scenario; plan: unknown } {
  const agents: Record<string, Step[]> = {};
  const tasks = [];
  for (let i = 0; i < TASKS; i++) {
    const id = `t${i}`;
    tasks.push({
      id,
      title: `Part ${i}`,
      instructions: `Write parts/${id}/.`,
      acceptance: ['the files exist'],
      files: [`parts/${id}/a.js`],
      dependsOn: [],
    });
    agents[id] = [
      { ...toolCall('write_file', { path: `parts/${id}/a.js`, content: `module.exports = ${i};\n` }), chunkDelayMs: 5 },
      {
        ...toolCall('write_file', { path: `parts/${id}/b.js`, content: `module.exports = ${i + 1};\n` }),
        chunkDelayMs: 5,
      },
      { ...toolCall('finish', { summary: `Wrote ${id}.` }), chunkDelayMs: 5 },
    ];
  }
  return { scenario: { agents }, plan: { version: 1, spec: 'Parts.', tasks } };
}

test('a replica that dies mid-run: every task merges, its agent moves, and it is taken back after its back-off', async () => {
  const { scenario: script, plan } = scenario();
  const dir = mkdtempSync(join(tmpdir(), 'foreman-replicas-'));
  let victim: string | null = null;
  let a1: ScriptedServer | null = null;
  let a2: ScriptedServer | null = null;
  const b = await startServer(script, { model: 'm', contextWindow: 4096 });
  // A dies the first time one of its agents asks for its second step; it is back 300 ms later.
  let killed = false;
  let restarted: Promise<void> | null = null;
  const gate: ServerOptions['gate'] = (route) => {
    if (killed || route.role !== 'agent' || route.step !== 1 || !a1) return;
    killed = true;
    victim = route.task;
    const server = a1;
    const port = Number(new URL(server.url).port);
    restarted = server.close().then(async () => {
      await new Promise((r) => setTimeout(r, 300));
      a2 = await startServer(script, { port, model: 'm', contextWindow: 4096 });
    });
    return new Promise<void>(() => undefined); // never answered: the connection is cut
  };
  a1 = await startServer(script, { gate, model: 'm', contextWindow: 4096 });
  const repo = makeRepo({
    files: {
      ...NODE_TEMPLATE,
      'foreman.json': `${JSON.stringify(
        {
          backends: [
            { name: 'A', baseUrl: a1.url, models: ['m'], retryBaseMs: 20, retryMaxMs: 40, maxRetries: 1 },
            { name: 'B', baseUrl: b.url, models: ['m'], retryBaseMs: 20, retryMaxMs: 40, maxRetries: 1 },
          ],
          replicaRetryMs: 500,
        },
        null,
        2,
      )}\n`,
    },
  });
  try {
    const planFile = join(dir, 'plan.json');
    writeFileSync(planFile, JSON.stringify(plan));
    const run = await runCli(
      ['run', '--plan', planFile, '--concurrency', '2', '--no-review', '--no-checks', '--no-sandbox'],
      { repo, timeoutMs: 120_000 },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /Agent: m \(A, B\)/);
    assert.match(
      run.stderr,
      /A http:\/\/127\.0\.0\.1:\d+\/v1 m: context window: 4,096 tokens \(max_model_len\) · tool calling: yes/,
    );
    await (restarted as Promise<void> | null);
    assert.ok(victim, 'A was killed');
    const { events, state } = await readRun(repo, await latestRunId(repo));
    assert.equal([...state.tasks.values()].filter((t) => t.status === 'merged').length, TASKS);
    // The task on A finished on B: its later steps reached B.
    assert.ok(requestsFor(b, 'agent', victim).length >= 2, 'the victim went on on B');
    const notes = events.flatMap((e) => (e.type === 'note' && e.taskId === null ? [e.message] : []));
    assert.ok(
      notes.some((n) => /^Replica A \(.*\) of m is taken out for 500 ms after a connection failure/.test(n)),
      notes.join('\n'),
    );
    assert.ok(
      notes.some((n) => n.startsWith(`Task ${victim} moved from A to B (m)`)),
      notes.join('\n'),
    );
    // After its back-off, A took new tasks again.
    const server2 = a2 as ScriptedServer | null;
    assert.ok(server2 && requestsFor(server2, 'agent').length > 0, `A was not asked again:\n${notes.join('\n')}`);
    assert.ok(notes.some((n) => n.startsWith('Replica A ') && n.endsWith('answers again and takes new tasks.')));
    // Each request names the replica that answered it, and each task's requests stayed on one
    // replica except the victim's.
    const endpoints = new Set([a1.url, b.url].map((u) => u.replace(/\/$/, '')));
    const byTask = new Map<string, Set<string>>();
    for (const e of events) {
      if (e.type !== 'model_request' || e.role !== 'agent' || !e.ok || e.taskId === null) continue;
      assert.ok(endpoints.has(e.endpoint), e.endpoint);
      byTask.set(e.taskId, (byTask.get(e.taskId) ?? new Set()).add(e.endpoint));
    }
    for (const [task, used] of byTask) assert.equal(used.size, task === victim ? 2 : 1, `task ${task}`);
    // Both replicas' metrics were looked for (the scripted servers expose none: said once each).
    const watched = events.flatMap((e) =>
      (e.type === 'telemetry_unavailable' && e.what === 'metrics') || e.type === 'backend_metrics' ? [e.endpoint] : [],
    );
    assert.deepEqual([...new Set(watched)].sort(), [...endpoints].sort());
  } finally {
    await a1?.close();
    await (a2 as ScriptedServer | null)?.close();
    await b.close();
    repo.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});
