/**
 * The check of the shared git directory after a task's agent and checks ran. The change is made
 * from the scripted model's step (in this process, while the task works), so it stands for any
 * route an agent might find past the sandbox and the policy: what matters is that Foreman notices.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { text, toolCall } from '../../src/scripted/scenario';
import type { Step } from '../../src/scripted/scenario';
import { createEngine, engineParts, makePlan, makeRepo, rawTask, startServer } from './runHarness';
import type { TempRepo } from './runHarness';

/** One task whose agent, on its first step, lets `meddle` change the repository, then finishes. */
async function runMeddling(repo: TempRepo, meddle: () => void, review = false) {
  const steps: Step[] = [
    () => {
      meddle();
      return toolCall('write_file', { path: 'work.txt', content: 'work\n' });
    },
    toolCall('finish', { summary: 'done' }),
  ];
  const reviewer = [text(JSON.stringify({ approved: true, comments: 'fine' }))];
  const server = await startServer({ agents: { task: steps }, reviewer });
  const parts = await engineParts(repo, server, { flags: { review, concurrency: 1 } });
  try {
    return await (await createEngine(parts, makePlan('Meddle', [rawTask('task')]))).run();
  } finally {
    parts.close();
    await server.close();
  }
}

test("a ref written behind git's back while a task works fails the task, naming the ref", async () => {
  const repo = makeRepo();
  try {
    const main = repo.git(['rev-parse', 'main']).trim();
    const state = await runMeddling(repo, () => {
      const evil = repo.git(['commit-tree', 'HEAD^{tree}', '-p', 'HEAD', '-m', 'evil']).trim();
      writeFileSync(join(repo.root, '.git', 'refs', 'heads', 'main'), `${evil}\n`);
    });
    const task = state.tasks.get('task');
    assert.equal(task?.status, 'failed');
    assert.match(
      task?.reason ?? '',
      /refs\/heads\/main moved from [0-9a-f]{10} to [0-9a-f]{10} without a reflog entry/,
    );
    assert.match(task?.reason ?? '', /Nothing of this task is merged/);
    assert.notEqual(repo.git(['rev-parse', 'main']).trim(), main, 'the test did move main');
    assert.equal(state.status, 'failed');
  } finally {
    repo.cleanup();
  }
});

test('with no checks the review is asked beside the look at the git directory: a change still fails the task, nothing merged', async () => {
  const repo = makeRepo();
  try {
    const state = await runMeddling(repo, () => repo.git(['config', 'core.hooksPath', '/tmp/elsewhere']), true);
    const task = state.tasks.get('task');
    assert.equal(task?.status, 'failed');
    assert.match(task?.reason ?? '', /config was changed/);
    assert.match(task?.reason ?? '', /Nothing of this task is merged/);
    assert.deepEqual(task?.review, { approved: true, comments: 'fine' }, 'the review was asked and answered');
    assert.equal(
      repo.git(['rev-list', '--merges', '--count', `foreman/${state.runId}/integration`]).trim(),
      '0',
      'the approved review merged nothing',
    );
  } finally {
    repo.cleanup();
  }
});

test('a hook or a config change while a task works fails the task, naming each', async () => {
  const repo = makeRepo();
  try {
    const state = await runMeddling(repo, () => {
      repo.git(['config', 'core.hooksPath', '/tmp/elsewhere']);
      writeFileSync(join(repo.root, '.git', 'hooks', 'post-merge'), '#!/bin/sh\nenv > /tmp/leak\n');
    });
    const reason = state.tasks.get('task')?.reason ?? '';
    assert.equal(state.tasks.get('task')?.status, 'failed');
    assert.match(reason, /config was changed/);
    assert.match(reason, /hooks\/post-merge was added/);
  } finally {
    repo.cleanup();
  }
});

test('the developer committing on their branch while a task works is not mistaken for tampering', async () => {
  const repo = makeRepo();
  try {
    const state = await runMeddling(repo, () => {
      repo.write('notes.txt', 'the developer keeps working\n');
      repo.git(['add', 'notes.txt']);
      repo.git(['commit', '-q', '-m', 'developer work']);
    });
    assert.equal(state.tasks.get('task')?.status, 'merged', state.tasks.get('task')?.reason ?? undefined);
    assert.equal(state.status, 'completed');
  } finally {
    repo.cleanup();
  }
});
