/**
 * `npm run bench:estimate`: how far the plan's estimate is from what runs really use, as
 * estimate ÷ actual, on the demo and on scripted scenarios. Each scenario runs twice on the same
 * repository through the real CLI against the scripted server: the first run is estimated with no
 * history (the prior), the second with the first run's journal to learn from. "Actual" is the
 * run's agent and reviewer tokens (input + output, as budgets count them) from its journal; the
 * planner is left out, as the estimate is made after planning.
 *
 * The estimate is computed with the functions the CLI and the panel use (app/planDraft.ts and
 * app/costHistory.ts), from the prefix and plan the run's journal recorded, leaving the run itself
 * out of the history, so it is the estimate the run would have been shown.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CostHistory } from '../src/app/costHistory';
import { estimatePlan, promptPrefixTokens } from '../src/app/planDraft';
import type { JournalEvent } from '../src/core/journal';
import type { Plan, TaskSpec } from '../src/core/plan';
import { listRunIds, readJournal, runJournalPath } from '../src/infra/journalFile';
import { demoScenario } from '../src/scripted/demoScenario';
import { scenarioResponder, toolCall } from '../src/scripted/scenario';
import type { Scenario, Step } from '../src/scripted/scenario';
import { createScriptedServer } from '../src/scripted/server';
import { seededRandom } from '../test/integration/crashProbes';

const ROOT = resolve(__dirname, '..');
const CLI = join(ROOT, 'dist/cli.js');

function git(cwd: string, ...args: string[]): void {
  const r = spawnSync('git', ['-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', ...args], {
    cwd,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
}

/** A module of `lines` lines of plausible JavaScript. */
function moduleText(name: string, lines: number, rnd: () => number): string {
  const out = [`'use strict';`, `// ${name}`];
  for (let i = 0; i < lines; i++) {
    const n = Math.floor(rnd() * 1000);
    out.push(`function ${name.replace(/\W/g, '_')}_${i}(x) { return x * ${n} + ${i}; } // step ${n}`);
  }
  out.push(`module.exports = {};`);
  return `${out.join('\n')}\n`;
}

/**
 * A scripted scenario on a repository of `modules` source files: `tasks` tasks, each naming one
 * to three files. In the `shaped` kind an agent looks around, reads and writes each file it names,
 * reads a few others and finishes, so its steps follow its files; in the `unshaped` kind it takes
 * 3 to 20 steps of reads whatever its files.
 */
function generated(kind: 'shaped' | 'unshaped', seed: number, tasks: number, modules: string[]) {
  const rnd = seededRandom(seed);
  const specs: TaskSpec[] = [];
  const agents: Record<string, Step[]> = {};
  const free = [...modules];
  for (let i = 0; i < tasks; i++) {
    const id = `t${seed}-${i}`;
    // Each existing module is changed by one task at most, so the run's merges do not conflict.
    const files = Array.from({ length: 1 + Math.floor(rnd() * 3) }, (_, k) =>
      rnd() < 0.5 && free.length > 0 ? free.splice(Math.floor(rnd() * free.length), 1)[0] : `src/new_${id}_${k}.js`,
    );
    const unique = [...new Set(files)];
    specs.push({
      id,
      title: `Task ${id}`,
      instructions: `Change ${unique.join(', ')} as described: ${'add a helper and its use; '.repeat(1 + Math.floor(rnd() * 4))}`,
      acceptance: ['the change is made', 'the module still loads'],
      files: unique,
      dependsOn: [],
    });
    const steps: Step[] = [toolCall('list_dir', { path: 'src' })];
    const read = (path: string) => toolCall('read_file', { path });
    if (kind === 'shaped') {
      for (const f of unique) {
        if (modules.includes(f)) steps.push(read(f));
        steps.push(toolCall('write_file', { path: f, content: moduleText(f, 10 + Math.floor(rnd() * 40), rnd) }));
      }
      for (let k = Math.floor(rnd() * 4); k > 0; k--) steps.push(read(modules[Math.floor(rnd() * modules.length)]));
    } else {
      for (let k = 1 + Math.floor(rnd() * 17); k > 0; k--)
        steps.push(read(modules[Math.floor(rnd() * modules.length)]));
      steps.push(toolCall('write_file', { path: unique[0], content: moduleText(unique[0], 20, rnd) }));
    }
    steps.push(toolCall('finish', { summary: `Changed ${unique.join(', ')}.` }));
    agents[id] = steps;
  }
  const plan: Plan = { version: 1, spec: `${kind} scenario ${seed}`, tasks: specs, warnings: [] };
  const scenario: Scenario = { agents, reviewer: [{ content: '{"approved": true, "comments": "Fine."}' }] };
  return { plan, scenario };
}

function newRepo(files: Record<string, string>, template?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'foreman-bench-estimate-'));
  const repo = join(dir, 'repo');
  if (template) cpSync(template, repo, { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    const full = join(repo, path);
    mkdirSync(resolve(full, '..'), { recursive: true });
    writeFileSync(full, text);
  }
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'base');
  return repo;
}

interface Measured {
  label: string;
  basis: string;
  tasks: number;
  estimate: { low: number; mid: number; high: number };
  actual: number;
  steps: number;
}

/** Run `args` with the CLI against a scripted server playing `scenario`; measure its estimate and its use. */
async function measure(label: string, repo: string, scenario: Scenario, args: string[]): Promise<Measured> {
  const server = await createScriptedServer({ responder: scenarioResponder(scenario), model: 'bench-estimate' });
  try {
    // Not spawnSync: the scripted server answers from this process's event loop.
    const child = spawn(process.execPath, [CLI, ...args, '--cwd', repo, '--concurrency', '4'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: {
        ...process.env,
        FOREMAN_BASE_URL: server.url,
        FOREMAN_MODEL: 'bench-estimate',
        FOREMAN_WORKTREE_ROOT: join(repo, '..', 'worktrees'),
      },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`${label}: foreman ${args[0]} exited ${code}\n${stderr}`);
  } finally {
    await server.close();
  }
  const stateDir = join(repo, '.git', 'foreman');
  const runId = (await listRunIds(stateDir))[0];
  const events: JournalEvent[] = (await readJournal(runJournalPath(stateDir, runId))).events;
  const planEvent = events.find((e) => e.type === 'plan');
  if (planEvent?.type !== 'plan') throw new Error(`${label}: the journal has no plan`);
  const profile = await new CostHistory().profile({ root: repo, stateDir }, runId);
  const estimate = estimatePlan(planEvent.plan, promptPrefixTokens(planEvent.plan, planEvent.repoView ?? ''), {
    price: null,
    profile,
    review: true,
  });
  let actual = 0;
  let steps = 0;
  for (const e of events) {
    if (e.type !== 'model_request' || e.role === 'planner' || !e.usage) continue;
    actual += e.usage.promptTokens + e.usage.completionTokens;
    if (e.role === 'agent') steps++;
  }
  const tokens = (t: { input: number; output: number }) => t.input + t.output;
  return {
    label,
    basis: profile.basis === 'prior' ? 'prior (no history)' : `learned (${profile.tasks} tasks)`,
    tasks: planEvent.plan.tasks.length,
    estimate: { low: tokens(estimate.low), mid: tokens(estimate.total), high: tokens(estimate.high) },
    actual,
    steps,
  };
}

async function main(): Promise<void> {
  const results: Measured[] = [];
  const cleanup: string[] = [];

  // The demo: the sample repository and the demo's scripted conversations, run twice.
  const spec = readFileSync(join(ROOT, 'samples/demo-spec.txt'), 'utf8').trim();
  const demoRepo = newRepo({}, join(ROOT, 'samples/demo-shop'));
  cleanup.push(resolve(demoRepo, '..'));
  for (const round of [1, 2]) {
    results.push(await measure(`demo, run ${round}`, demoRepo, demoScenario, ['run', spec]));
    git(demoRepo, 'reset', '-q', '--hard');
  }

  // Generated scenarios on a repository of twelve modules, two runs each with different tasks.
  const rnd = seededRandom(7);
  const files: Record<string, string> = { 'package.json': '{ "name": "bench", "private": true }\n' };
  const modules = Array.from({ length: 12 }, (_, i) => `src/m${i}.js`);
  for (const m of modules) files[m] = moduleText(m, 20 + Math.floor(rnd() * 120), rnd);
  for (const kind of ['shaped', 'unshaped'] as const) {
    const repo = newRepo(files);
    cleanup.push(resolve(repo, '..'));
    for (const [round, seed] of [
      [1, 11],
      [2, 12],
    ]) {
      const { plan, scenario } = generated(kind, seed + (kind === 'unshaped' ? 100 : 0), 8, modules);
      const planFile = join(repo, '..', `plan-${seed}.json`);
      writeFileSync(planFile, JSON.stringify(plan, null, 2));
      results.push(await measure(`${kind}, run ${round}`, repo, scenario, ['run', '--plan', planFile, '--no-checks']));
    }
  }

  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  console.log('Estimate ÷ actual (tokens = input + output of agents and reviews; the planner left out)\n');
  console.log(
    'scenario         | basis               | tasks | agent steps | actual  | estimate (low–high)        | estimate ÷ actual (low–high)',
  );
  console.log(
    '---------------- | ------------------- | ----- | ----------- | ------- | -------------------------- | ----------------------------',
  );
  for (const r of results) {
    const ratio = (x: number) => (x / r.actual).toFixed(2);
    console.log(
      `${r.label.padEnd(16)} | ${r.basis.padEnd(19)} | ${String(r.tasks).padStart(5)} | ${String(r.steps).padStart(11)} | ` +
        `${n(r.actual).padStart(7)} | ${`${n(r.estimate.mid)} (${n(r.estimate.low)}–${n(r.estimate.high)})`.padEnd(26)} | ` +
        `${ratio(r.estimate.mid)}× (${ratio(r.estimate.low)}–${ratio(r.estimate.high)})`,
    );
  }
  for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(`bench:estimate: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
