/**
 * The sandbox's cost per command, a section of `npm run bench`: `true` run through the real
 * process runner with the machine's sandbox and without one, alternately in one run, so both see
 * the same machine load. Each figure is the wall time of one `run` call, from the call to its
 * result (spawn, the sandbox's namespaces and mounts, the shell, exit, reading the output file).
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ProcessRunner } from '../src/core/ports';
import type { SandboxScope } from '../src/core/sandbox';
import { createProcessRunner } from '../src/infra/processRunner';
import { createSystemSandbox } from '../src/infra/systemSandbox';
import { placeScope } from '../src/infra/taskRunners';
import { median, summarise } from './benchStats';

/** Runs of each kind after the warm-up. */
const RUNS = 200;
const WARM_UP = 10;

async function timeOne(runner: ProcessRunner, cwd: string): Promise<number> {
  const t0 = performance.now();
  const r = await runner.run('true', { cwd, timeoutMs: 10_000 });
  const ms = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`\`true\` did not succeed: ${r.output}`);
  return ms;
}

/** Measure, print the figures, and return them (null when no sandbox can run here). */
export async function sandboxSection(json: boolean): Promise<Record<string, unknown> | null> {
  const sandbox = createSystemSandbox();
  const status = await sandbox.probe();
  console.log('');
  if (!status.available) {
    console.log(`Sandbox cost per command: not measured, no sandbox here (${status.reason})`);
    return null;
  }
  const tmp = realpathSync(mkdtempSync(join(tmpdir(), 'foreman-bench-sandbox-')));
  // A task's scope as the runners make it (Foreman's home and the temporary folders hidden).
  const scope: SandboxScope = placeScope({
    runId: 'bench',
    taskId: 'bench',
    worktree: join(tmp, 'worktree'),
    scratch: join(tmp, 'scratch'),
    readOnly: [],
    hidden: [],
  });
  for (const dir of [scope.worktree, scope.tmp, scope.cache, scope.home]) mkdirSync(dir, { recursive: true });
  try {
    const sandboxed = createProcessRunner({ sandbox, scope, network: 'none' });
    const plain = createProcessRunner({ sandbox: null, scope, network: 'host' });
    const times = { sandboxed: [] as number[], plain: [] as number[] };
    for (let i = 0; i < WARM_UP + RUNS; i++) {
      const s = await timeOne(sandboxed, scope.worktree);
      const p = await timeOne(plain, scope.worktree);
      if (i < WARM_UP) continue;
      times.sandboxed.push(s);
      times.plain.push(p);
    }
    const [s, p] = [times.sandboxed, times.plain].map((xs) => ({ ...summarise(xs), median: median(xs) }));
    const figure = (f: typeof s): string =>
      `median ${f.median.toFixed(2)} ms, mean ${f.mean.toFixed(2)} ms, p95 ${f.p95.toFixed(2)} ms`;
    console.log(`Sandbox cost per command (\`true\` through the process runner, ${RUNS} runs each, alternating):`);
    console.log(`  sandboxed (${status.name}): ${figure(s)}`);
    console.log(`  plain (sandbox off):       ${figure(p)}`);
    console.log(
      `  ratio sandboxed / plain: ${(s.median / p.median).toFixed(2)}× by median, ${(s.mean / p.mean).toFixed(2)}× by mean; +${(s.median - p.median).toFixed(2)} ms per command by median`,
    );
    const figures = { sandbox: status.name, runs: RUNS, sandboxed: s, plain: p };
    if (json) console.log(JSON.stringify(figures));
    return figures;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
