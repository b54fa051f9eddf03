/**
 * The benchmark's fixture: the small repository and the plan that scripts/bench.ts runs, and the
 * model server that plays the agents against them. Run as a program, it is that server, in a
 * process of its own so that its CPU is not counted as the orchestrator's: Foreman's scripted
 * OpenAI-compatible test server (src/scripted/server.ts) answering at once, every agent making
 * `--steps - 1` cheap tool calls and then `finish`; with `--commands`, every fifth call is a
 * `run_command` (which Foreman runs in the task's sandbox).
 *
 * Usage: node --import tsx scripts/benchServer.ts [--steps 20] [--commands]
 * Prints `listening <url>` on stdout; stops on SIGINT or SIGTERM.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Plan } from '../src/core/plan';
import { findTask } from '../src/core/promptMarkers';
import { toolCall } from '../src/scripted/scenario';
import type { Scenario, Step } from '../src/scripted/scenario';
import { scenarioResponder } from '../src/scripted/scenario';
import type { ChatRequest, Reply } from '../src/scripted/server';
import { createScriptedServer } from '../src/scripted/server';
import { errorMessage } from '../src/core/errors';

/** A small repository: a README, an AGENTS.md and 20 short modules under src/. */
export function makeRepo(root: string): void {
  const write = (rel: string, text: string): void => {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  };
  write('README.md', '# bench-shop\n\nA small repository for the Foreman benchmark.\n');
  write('AGENTS.md', '# Conventions\n\n- Keep modules small.\n- Notes go under work/<task>/.\n');
  for (let i = 0; i < 20; i++) {
    const n = String(i).padStart(2, '0');
    write(`src/mod${n}.js`, `// Module ${n}\nexport function f${n}(x) {\n  return x + ${i};\n}\n`);
  }
  const git = (...args: string[]): void => {
    execFileSync('git', args, { cwd: root, stdio: 'ignore' });
  };
  git('init', '-q', '-b', 'main');
  git('-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', 'add', '-A');
  git(
    '-c',
    'user.name=Bench',
    '-c',
    'user.email=bench@example.com',
    '-c',
    'commit.gpgsign=false',
    'commit',
    '-q',
    '-m',
    'bench base',
  );
}

/** A plan of `agents` independent tasks, `t000`, `t001`, … */
export function benchPlan(agents: number): Plan {
  const tasks = Array.from({ length: agents }, (_, i) => {
    const id = `t${String(i).padStart(3, '0')}`;
    return {
      id,
      title: `Benchmark task ${i}`,
      instructions: 'Read, list and search the small modules under src/, write short notes, then finish.',
      acceptance: [`work/${id}/ holds the notes`],
      files: [`work/${id}/`],
      dependsOn: [],
    };
  });
  return { version: 1, spec: 'Benchmark: many agents making cheap tool calls.', tasks, warnings: [] };
}

/** The task id of an agent's request (its first task marker), or `unknown`. */
function taskOf(request: ChatRequest): string {
  for (const m of request.messages) {
    const text = typeof m.content === 'string' ? m.content : '';
    const id = findTask(text);
    if (id !== null) return id;
  }
  return 'unknown';
}

/** What a bench agent runs: reads the worktree and the repository's git directory, writes nothing. */
export const BENCH_COMMAND = 'wc -l src/*.js && git status --short';

/** How many of the first `steps - 1` calls are commands, with `commands` on (every fifth). */
export function benchCommandsPerAgent(steps: number, commands: boolean): number {
  return commands ? Math.floor((steps - 1) / 5) : 0;
}

/**
 * The tool call of step `i` (from 0): a rotation of read_file, list_dir, search and write_file on
 * small files, and with `commands`, every fifth call a `run_command` in place of the rotation's.
 * Writes go to a folder of the task's own, so the 100 branches merge cleanly.
 */
export function benchToolCall(i: number, task: string, commands = false): Reply {
  if (commands && i % 5 === 4) return toolCall('run_command', { command: BENCH_COMMAND });
  switch (i % 4) {
    case 0:
      return toolCall('read_file', { path: `src/mod${String(i % 20).padStart(2, '0')}.js` });
    case 1:
      return toolCall('list_dir', { path: 'src' });
    case 2:
      return toolCall('search', { pattern: 'export', path: 'src' });
    default:
      return toolCall('write_file', {
        path: `work/${task}/note-${i}.md`,
        content: `# ${task}, step ${i}\n\nA small note.\n`,
      });
  }
}

/** Every agent: `steps - 1` tool calls, then `finish` on the last step. */
export function benchScenario(steps: number, commands = false): Scenario {
  const script: Step[] = [];
  for (let i = 0; i < steps - 1; i++) script.push((request) => benchToolCall(i, taskOf(request), commands));
  script.push(toolCall('finish', { summary: 'Benchmark task done.' }));
  return { defaultAgent: script };
}

async function main(args: string[]): Promise<void> {
  const at = args.indexOf('--steps');
  const steps = at >= 0 ? Number(args[at + 1]) : 20;
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`--steps must be a positive integer, not ${args[at + 1]}`);
  const commands = args.includes('--commands');
  const server = await createScriptedServer({ responder: scenarioResponder(benchScenario(steps, commands)) });
  process.stdout.write(`listening ${server.url}\n`);
  const stop = (): void => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`benchServer: ${errorMessage(e)}\n`);
    process.exit(1);
  });
}
