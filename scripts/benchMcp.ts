/**
 * `npm run bench:mcp`: do the developer's MCP tools cost the prefix cache anything? The real CLI
 * runs the same plan twice against the scripted server (whose prefix cache sees the offered tools
 * where chat templates put them, inside the system turn): once with no MCP server, once with
 * `mcp-server-everything` configured (its pin approved on the terminal, its tools offered after
 * Foreman's own). Measured in each run, from the journal and the server's requests:
 *
 * - first-request reuse: cached ÷ prompt tokens of each task's first request, the first task's
 *   left out (what one agent's prompt shares with the agents before it);
 * - later-request reuse: cached ÷ prompt tokens of every later request of a task;
 * - how many different `tools` arrays the agents were sent (1 means byte-identical).
 *
 * Flags: --tasks N (24), --concurrency N (8), --steps N (agent steps a task, 4).
 */
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { JournalEvent } from '../src/core/journal';
import { findRole } from '../src/core/promptMarkers';
import { listRunIds, readJournal, runJournalPath } from '../src/infra/journalFile';
import { scenarioResponder, toolCall } from '../src/scripted/scenario';
import type { Scenario, Step } from '../src/scripted/scenario';
import { createScriptedServer } from '../src/scripted/server';
import { contentText } from '../src/scripted/wire';
import { flag, git, spawnRun } from './benchFabric';

const ROOT = resolve(__dirname, '..');
const EVERYTHING = join(ROOT, 'node_modules', '.bin', 'mcp-server-everything');

const TASKS = flag('tasks', 24);
const CONCURRENCY = flag('concurrency', 8);
const STEPS = flag('steps', 4);

/** A repository (with foreman.json naming the server when `mcp`), and a plan of TASKS tasks. */
function setUp(dir: string, mcp: boolean): { repo: string; plan: string; scenario: Scenario } {
  const repo = join(dir, 'repo');
  mkdirSync(join(repo, 'src'), { recursive: true });
  writeFileSync(join(repo, 'README.md'), '# mcp bench\n\nA repository for the MCP prefix-cache bench.\n');
  writeFileSync(join(repo, 'src', 'index.js'), "'use strict';\nmodule.exports = {};\n");
  if (mcp)
    writeFileSync(
      join(repo, 'foreman.json'),
      JSON.stringify({ mcpServers: { everything: { command: EVERYTHING, tools: { '*': 'allow' } } } }),
    );
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'base');
  const tasks = [];
  const agents: Record<string, Step[]> = {};
  for (let i = 0; i < TASKS; i++) {
    const id = `t${i}`;
    tasks.push({
      id,
      title: `Module ${i}`,
      instructions: `Write work/${id}/.`,
      acceptance: ['the parts exist'],
      files: [`work/${id}/part0.js`],
      dependsOn: [],
    });
    const steps: Step[] = [];
    for (let k = 0; k < STEPS - 1; k++)
      steps.push(toolCall('write_file', { path: `work/${id}/part${k}.js`, content: `module.exports = ${k};\n` }));
    steps.push(toolCall('finish', { summary: `Wrote ${id}.` }));
    agents[id] = steps;
  }
  const plan = join(dir, 'plan.json');
  writeFileSync(plan, JSON.stringify({ version: 1, spec: 'Many modules.', tasks }, null, 2));
  return { repo, plan, scenario: { agents } };
}

interface Measured {
  label: string;
  toolCount: number;
  firstReuse: number;
  laterReuse: number;
  distinctToolArrays: number;
}

async function runOnce(label: string, mcp: boolean): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), 'foreman-bench-mcp-'));
  try {
    const { repo, plan, scenario } = setUp(dir, mcp);
    const play = scenarioResponder(scenario);
    const server = await createScriptedServer({ model: 'bench-mcp', responder: (r, ctx) => play(r, ctx) });
    const child = spawnRun({
      plan,
      repo,
      tasks: TASKS,
      concurrency: CONCURRENCY,
      extra: ['--no-review', '--no-checks', '--approve', 'prompt'],
      env: { FOREMAN_BASE_URL: server.url, FOREMAN_MODEL: 'bench-mcp', FOREMAN_WORKTREE_ROOT: join(dir, 'wt') },
      stdin: 'pipe',
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
      // The pin of a new server: approved once, as the developer would.
      if (/Approval needed[^\n]*\n\s+mcp-server /.test(stderr) && !stderr.includes('[answered]')) {
        stderr += '[answered]';
        child.stdin?.write('o\n');
      }
    });
    const [exit] = (await once(child, 'exit')) as [number | null];
    await server.close();
    if (exit !== 0) throw new Error(`${label}: foreman run exited ${exit}\n${stderr.slice(-2000)}`);
    const stateDir = join(repo, '.git', 'foreman');
    const events: JournalEvent[] = (await readJournal(runJournalPath(stateDir, (await listRunIds(stateDir))[0])))
      .events;
    const agentRequests = server.requests.filter((r) => {
      const system = r.body.messages.find((m) => m.role === 'system');
      return system ? findRole(contentText(system)) === 'agent' : false;
    });
    const arrays = new Set(agentRequests.map((r) => JSON.stringify(r.body.tools ?? [])));
    return {
      label,
      toolCount: agentRequests[0]?.body.tools?.length ?? 0,
      ...reuse(events),
      distinctToolArrays: arrays.size,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Cached ÷ prompt tokens of each task's first request (the run's very first left out), and of the rest. */
function reuse(events: JournalEvent[]): { firstReuse: number; laterReuse: number } {
  const seen = new Set<string>();
  const first = { prompt: 0, cached: 0 };
  const later = { prompt: 0, cached: 0 };
  for (const e of events) {
    if (e.type !== 'model_request' || e.role !== 'agent' || !e.usage || e.taskId === null) continue;
    const into = seen.has(e.taskId) ? later : first;
    const veryFirst = seen.size === 0;
    seen.add(e.taskId);
    if (veryFirst) continue;
    into.prompt += e.usage.promptTokens;
    into.cached += e.usage.cachedTokens ?? 0;
  }
  return {
    firstReuse: first.prompt ? first.cached / first.prompt : 0,
    laterReuse: later.prompt ? later.cached / later.prompt : 0,
  };
}

async function main(): Promise<void> {
  const runs = [await runOnce('no MCP server', false), await runOnce('mcp-server-everything', true)];
  const f = (x: number) => x.toFixed(3);
  console.log(`${TASKS} tasks, ${CONCURRENCY} at once, ${STEPS} agent steps a task, scripted server's prefix cache\n`);
  console.log(
    'run                      | tools offered | distinct tools arrays | first-request reuse | later-request reuse',
  );
  console.log(
    '------------------------ | ------------- | --------------------- | ------------------- | -------------------',
  );
  for (const r of runs)
    console.log(
      `${r.label.padEnd(24)} | ${String(r.toolCount).padStart(13)} | ${String(r.distinctToolArrays).padStart(21)} | ${f(r.firstReuse).padStart(19)} | ${f(r.laterReuse).padStart(19)}`,
    );
}

main().catch((e) => {
  console.error(`bench:mcp: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
