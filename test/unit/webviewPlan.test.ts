import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { PlanTask } from '../../src/protocol/panel';
import {
  dependencyOrder,
  draftOf,
  draftProblem,
  emptyDraft,
  linesOf,
  newIdProblem,
  removeTask,
  replaceTask,
  suggestId,
  taskOfDraft,
  unattachedWarnings,
  warningsFor,
} from '../../src/webview/planModel';

const task = (id: string, dependsOn: string[] = []): PlanTask => ({
  id,
  title: `Title ${id}`,
  instructions: `Do ${id}`,
  acceptance: [],
  files: [],
  dependsOn,
});

test('cards come in dependency order, otherwise in the planner order', () => {
  const tasks = [task('docs', ['api']), task('api', ['model']), task('model'), task('cli')];
  assert.deepEqual(
    dependencyOrder(tasks).map((t) => t.id),
    ['model', 'api', 'docs', 'cli'],
  );
});

test('tasks in a cycle or waiting on an unknown id still show, last', () => {
  const tasks = [task('a', ['b']), task('b', ['a']), task('c'), task('d', ['ghost'])];
  assert.deepEqual(
    dependencyOrder(tasks).map((t) => t.id),
    ['c', 'a', 'b', 'd'],
  );
});

test('a draft round-trips a task, with list fields one per line', () => {
  const t: PlanTask = {
    id: 'api',
    title: 'API',
    instructions: 'Add it',
    acceptance: ['works', 'tested'],
    files: ['src/a.ts'],
    dependsOn: ['model'],
  };
  const d = draftOf(t);
  assert.equal(d.acceptance, 'works\ntested');
  assert.deepEqual(taskOfDraft(d), t);
  assert.deepEqual(linesOf('  one \r\n\n two\n   \n'), ['one', 'two']);
  const edited = taskOfDraft({
    ...d,
    title: '  API v2 ',
    files: 'src/a.ts\n\nsrc/b.ts\n',
    dependsOn: ['model', 'model'],
  });
  assert.equal(edited.title, 'API v2');
  assert.deepEqual(edited.files, ['src/a.ts', 'src/b.ts']);
  assert.deepEqual(edited.dependsOn, ['model']);
});

test('replacing and removing tasks keep the rest of the list and its dependencies right', () => {
  const tasks = [task('a'), task('b', ['a']), task('c', ['a', 'b'])];
  const replaced = replaceTask(tasks, 'b', { ...tasks[1], title: 'New' });
  assert.equal(replaced[1].title, 'New');
  assert.equal(replaced[2], tasks[2]);
  const renamed = replaceTask(tasks, 'a', { ...tasks[0], id: 'z' });
  assert.deepEqual(
    renamed.map((t) => [t.id, t.dependsOn]),
    [
      ['z', []],
      ['b', ['z']],
      ['c', ['z', 'b']],
    ],
  );
  const removed = removeTask(tasks, 'a');
  assert.deepEqual(
    removed.map((t) => [t.id, t.dependsOn]),
    [
      ['b', []],
      ['c', ['b']],
    ],
  );
  assert.equal(tasks[1].dependsOn.length, 1, 'the input is not changed');
});

test('new ids are lowercase with dashes, unique, and not the integration branch', () => {
  const tasks = [task('task-1'), task('api')];
  assert.equal(newIdProblem('docs-2', tasks), null);
  assert.match(newIdProblem('', tasks) ?? '', /id/);
  assert.match(newIdProblem('Docs', tasks) ?? '', /lowercase/);
  assert.match(newIdProblem('a b', tasks) ?? '', /lowercase/);
  assert.match(newIdProblem('api', tasks) ?? '', /already exists/);
  assert.match(newIdProblem('integration', tasks) ?? '', /integration/);
  assert.equal(suggestId(tasks), 'task-3');
  assert.equal(suggestId([task('task-2'), task('task-3')]), 'task-4');
  const d = emptyDraft(tasks);
  assert.equal(d.id, 'task-3');
  assert.match(draftProblem(d) ?? '', /title/);
  assert.match(draftProblem({ ...d, title: 'T' }) ?? '', /instructions/);
  assert.equal(draftProblem({ ...d, title: 'T', instructions: 'I' }), null);
});

test('warnings attach to the tasks they name; the rest stay visible', () => {
  const w1 = { tasks: ['a', 'b'], files: ['x.ts'], message: 'a and b both change x.ts' };
  const w2 = { tasks: ['gone'], files: [], message: 'stale' };
  const tasks = [task('a'), task('b'), task('c')];
  assert.deepEqual(warningsFor('b', [w1, w2]), [w1]);
  assert.deepEqual(warningsFor('c', [w1, w2]), []);
  assert.deepEqual(unattachedWarnings([w1, w2], tasks), [w2]);
});
