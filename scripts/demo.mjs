#!/usr/bin/env node
// `npm run demo`: builds Foreman, makes a copy of the sample repository (samples/demo-shop) in a
// temporary folder, and runs Foreman on it end to end: plan, parallel agents on worktrees,
// verification, integration, then `foreman apply` onto the sample's branch.
//
// The backend is the one the environment names (FOREMAN_BASE_URL, FOREMAN_MODEL, and
// FOREMAN_API_KEY when it needs a key). When none is named, the run is a DEMO against Foreman's
// scripted OpenAI-compatible server: every model answer is written out in
// src/scripted/demoScenario.ts, so a newcomer without a GPU sees what Foreman does.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

const root = resolve(import.meta.dirname, '..');
const node = process.execPath;

function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status}`);
  return r;
}

function banner(lines) {
  const width = Math.max(...lines.map((l) => l.length));
  const bar = '='.repeat(width + 4);
  console.log(`\n${bar}\n${lines.map((l) => `| ${l.padEnd(width)} |`).join('\n')}\n${bar}\n`);
}

async function startScriptedServer() {
  // Paced like the panel's demo, so answers stream over time and tokens/s means something.
  const child = spawn(node, [join(root, 'dist/scripted.js'), '--scenario', 'demo', '--pace-ms', '20'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const [line] = await once(lines, 'line');
  const url = /^listening (\S+)/.exec(line)?.[1];
  if (!url) throw new Error(`the scripted server said: ${line}`);
  return { url, stop: () => child.kill('SIGTERM') };
}

async function main() {
  console.log('Building Foreman …');
  sh(node, [join(root, 'esbuild.js')]);

  const work = mkdtempSync(join(tmpdir(), 'foreman-demo-'));
  const repo = join(work, 'demo-shop');
  cpSync(join(root, 'samples/demo-shop'), repo, { recursive: true });
  const git = (...args) =>
    sh('git', ['-c', 'user.name=Demo Developer', '-c', 'user.email=dev@example.com', ...args], {
      cwd: repo,
      stdio: 'ignore',
    });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'The shop before Foreman');

  let server = null;
  const env = { ...process.env, FOREMAN_WORKTREE_ROOT: join(work, 'worktrees') };
  if (env.FOREMAN_BASE_URL) {
    banner([`Backend: ${env.FOREMAN_BASE_URL}  model: ${env.FOREMAN_MODEL ?? '(FOREMAN_MODEL is not set)'}`]);
  } else {
    server = await startScriptedServer();
    env.FOREMAN_BASE_URL = server.url;
    env.FOREMAN_MODEL = 'scripted-demo';
    banner([
      "DEMO: no backend is named (FOREMAN_BASE_URL), so this run uses Foreman's",
      'scripted OpenAI-compatible server. No model runs: its answers are written out',
      'in src/scripted/demoScenario.ts. Everything else is real: git worktrees,',
      "agents' tool calls, npm test as the check, merges, the ledger and the journal.",
    ]);
  }

  const spec = readFileSync(join(root, 'samples/demo-spec.txt'), 'utf8').trim();
  const foreman = (...args) =>
    spawnSync(node, [join(root, 'dist/cli.js'), ...args, '--cwd', repo], {
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
  try {
    console.log(`Repository: ${repo}\nSpec: ${spec}\n`);
    const run = foreman('run', spec, '--concurrency', '2', '--price', '0.15,0.015,0.60', '--verbose');
    process.stdout.write(run.stdout);
    const status = JSON.parse(foreman('status', '--json').stdout);
    if (run.status !== 0) {
      console.log(
        `\nThe run ended with exit code ${run.status}; see above. Its journal stays in ${repo}/.git/foreman/runs/${status.runId}.`,
      );
      process.exitCode = run.status;
      return;
    }
    console.log(`\n$ foreman apply ${status.runId}`);
    const apply = foreman('apply', status.runId);
    process.stdout.write(apply.stdout);
    console.log('\n$ git log --oneline --stat -1');
    sh('git', ['log', '--oneline', '--stat', '-1'], { cwd: repo });
    console.log("\n$ npm test (on the developer's branch, after apply)");
    sh('npm', ['test', '--silent'], { cwd: repo });
    console.log(`\nThe sample repository is in ${repo}; try: node ${join(root, 'dist/cli.js')} status --cwd ${repo}`);
  } finally {
    server?.stop();
  }
}

main().catch((e) => {
  console.error(`demo: ${e.message}`);
  process.exit(1);
});
