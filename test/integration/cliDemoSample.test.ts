/**
 * The demo backend on the command line (the scripted server playing the demo, model scripted-demo,
 * as `npm run demo` runs it) only works on Foreman's sample repository. Elsewhere the CLI refuses
 * before any request, in a sentence that says why and gives the command that gets the sample,
 * instead of running the sample's canned plan on someone else's repository.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { demoScenario } from '../../src/scripted/demoScenario';
import { toolCall } from '../../src/scripted/scenario';
import { latestRunId, makeRepo, planReply, PROJECT_ROOT, rawTask, readRun, runCli, startServer } from './runHarness';

/** The CLI refused with the demo's sentence, naming `root`, and no stack trace. */
function assertRefused(r: { code: number | null; stderr: string }, what: string, root: string): void {
  assert.equal(r.code, 2, `${what}: ${r.stderr}`);
  assert.equal(
    r.stderr.trim().split('\n').at(-1),
    `foreman: the demo backend (model scripted-demo) only knows Foreman's sample repository, samples/demo-shop: its plan and every answer of its agents are written out for that sample, and ${root} is not it. To watch the demo, run \`npm run demo\` in Foreman's own checkout (it runs Foreman on a fresh copy of the sample); to work on this repository, name a real backend with --base-url and --model.`,
    what,
  );
  assert.doesNotMatch(r.stderr, /unexpected error|\n\s+at /, 'no stack trace');
}

const SPEC = readFileSync(join(PROJECT_ROOT, 'samples', 'demo-spec.txt'), 'utf8').trim();

test('the demo backend refuses a repository that is not the sample, naming the command that gets it', async () => {
  // A package named like the sample is not the sample: the marker in its package.json is.
  const repo = makeRepo({
    files: { 'package.json': '{ "name": "demo-shop", "private": true }\n', 'README.md': '# x\n' },
  });
  const server = await startServer(demoScenario);
  try {
    for (const args of [
      ['run', SPEC],
      ['plan', SPEC],
    ]) {
      const r = await runCli(args, { repo, server, model: 'scripted-demo' });
      assertRefused(r, args[0], repo.root);
    }
    assert.equal(server.requests.length, 0, 'nothing was asked of the demo');
    assert.ok(!existsSync(join(repo.root, '.git', 'foreman', 'runs')), 'no run was started');
  } finally {
    await server.close();
    repo.cleanup();
  }
});

test('a run made with a real backend cannot be taken on by the demo either', async () => {
  const repo = makeRepo();
  const real = await startServer({
    planner: [planReply([rawTask('notes', { files: ['NOTES.md'] })])],
    agents: {
      notes: [
        toolCall('write_file', { path: 'NOTES.md', content: 'notes\n' }),
        toolCall('finish', { summary: 'Added notes.' }),
      ],
    },
  });
  const demo = await startServer(demoScenario);
  try {
    const held = await runCli(['run', 'Add notes.', '--hold', '--no-checks', '--no-review'], { repo, server: real });
    assert.equal(held.code, 6, held.stderr);
    const runId = await latestRunId(repo);
    for (const args of [
      ['accept', runId, 'notes', '--model', 'scripted-demo'],
      ['run', '--resume', runId, '--model', 'scripted-demo'],
    ]) {
      const r = await runCli(args, { repo, server: demo, model: 'scripted-demo' });
      assertRefused(r, args[0], repo.root);
    }
    assert.equal(demo.requests.length, 0, 'nothing was asked of the demo');
    assert.equal((await readRun(repo, runId)).state.tasks.get('notes')?.status, 'verified', 'the task still waits');
  } finally {
    await Promise.all([real.close(), demo.close()]);
    repo.cleanup();
  }
});

test('on a copy of the sample the demo backend plans as before', async () => {
  const repo = makeRepo({ template: join(PROJECT_ROOT, 'samples', 'demo-shop') });
  const server = await startServer(demoScenario);
  try {
    const r = await runCli(['plan', SPEC, '--json'], { repo, server, model: 'scripted-demo' });
    assert.equal(r.code, 0, r.stderr);
    const { plan } = JSON.parse(r.stdout) as { plan: { tasks: { id: string }[] } };
    assert.deepEqual(
      plan.tasks.map((t) => t.id),
      ['discounts', 'receipt', 'checkout'],
    );
  } finally {
    await server.close();
    repo.cleanup();
  }
});

test("the scripted server playing the demo goes by the demo's model name, which Foreman holds to the sample", async () => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(PROJECT_ROOT, 'src/scripted/main.ts'), '--scenario', 'demo'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
    const url = /^listening (\S+)$/.exec(line)?.[1];
    assert.ok(url, line);
    const models = (await (await fetch(`${url}/models`)).json()) as { data: { id: string }[] };
    assert.deepEqual(
      models.data.map((m) => m.id),
      ['scripted-demo'],
    );
  } finally {
    child.kill('SIGTERM');
  }
});
