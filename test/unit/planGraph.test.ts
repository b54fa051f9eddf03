import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dependentsOf, topologicalOrder, validatePlan } from '../../src/core/planGraph';
import { planJsonSchema, rawPlanSchema } from '../../src/core/planSchema';
import type { Plan } from '../../src/core/plan';

type T = { id: string; files?: string[]; dependsOn?: string[] };

function task({ id, files = [], dependsOn = [] }: T) {
  return { id, title: `Do ${id}`, instructions: `Implement ${id}.`, acceptance: [`${id} works`], files, dependsOn };
}

function plan(...tasks: T[]): Plan {
  const r = validatePlan({ tasks: tasks.map(task) }, 'spec');
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.plan;
}

function errorsOf(raw: unknown, opts?: { maxTasks?: number }): string[] {
  const r = validatePlan(raw, 'spec', opts);
  assert.equal(r.ok, false, 'expected the plan to be invalid');
  return r.ok ? [] : r.errors;
}

test('a valid plan becomes a Plan with normalised paths and deduplicated dependencies', () => {
  const r = validatePlan(
    {
      tasks: [
        task({ id: 'a', files: ['./src\\a.ts', 'src//b.ts/', 'src/./a.ts'] }),
        task({ id: 'b', dependsOn: ['a', 'a'] }),
      ],
    },
    'the spec',
  );
  assert.ok(r.ok);
  assert.equal(r.plan.version, 1);
  assert.equal(r.plan.spec, 'the spec');
  assert.deepEqual(r.plan.tasks[0].files, ['src/a.ts', 'src/b.ts']);
  assert.deepEqual(r.plan.tasks[1].dependsOn, ['a']);
  assert.deepEqual(r.plan.warnings, []);
});

test('duplicate ids are reported with their positions', () => {
  const errors = errorsOf({ tasks: [task({ id: 'a' }), task({ id: 'b' }), task({ id: 'a' })] });
  assert.equal(errors.length, 1);
  assert.match(errors[0], /"a" is used by 2 tasks \(tasks\[0\], tasks\[2\]\)/);
});

test('unknown and self dependencies name the task and the bad id', () => {
  const errors = errorsOf({ tasks: [task({ id: 'a', dependsOn: ['zz'] }), task({ id: 'b', dependsOn: ['b'] })] });
  assert.equal(errors.length, 2);
  assert.match(errors[0], /Task "a" depends on "zz", which is not a task in the plan/);
  assert.match(errors[1], /Task "b" depends on itself/);
});

test('cycles are named, each once', () => {
  const two = errorsOf({ tasks: [task({ id: 'a', dependsOn: ['b'] }), task({ id: 'b', dependsOn: ['a'] })] });
  assert.deepEqual(two.length, 1);
  assert.match(two[0], /cycle: a → b → a;/);
  const three = errorsOf({
    tasks: [
      task({ id: 'x' }),
      task({ id: 'a', dependsOn: ['c', 'x'] }),
      task({ id: 'b', dependsOn: ['a'] }),
      task({ id: 'c', dependsOn: ['b'] }),
    ],
  });
  assert.equal(three.length, 1);
  assert.match(three[0], /a → c → b → a/);
});

test('absolute and parent-relative file paths are errors naming the task', () => {
  const errors = errorsOf({ tasks: [task({ id: 'a', files: ['/etc/passwd', '../x.ts', 'C:\\x.ts', 'ok.ts', '.'] })] });
  assert.equal(errors.length, 4);
  assert.ok(errors.every((e) => e.startsWith('Task "a": file path')));
  assert.match(errors[0], /is absolute/);
  assert.match(errors[1], /contains "\.\."/);
});

test('task count must be between 1 and maxTasks', () => {
  assert.match(errorsOf({ tasks: [] })[0], /no tasks/);
  const many = { tasks: ['a', 'b', 'c'].map((id) => task({ id })) };
  assert.match(errorsOf(many, { maxTasks: 2 })[0], /3 tasks but at most 2/);
  assert.ok(validatePlan(many, 'spec', { maxTasks: 3 }).ok);
});

test('shape errors say which task and which field', () => {
  const errors = errorsOf({
    tasks: [{ ...task({ id: 'Bad_Id' }) }, { id: 'ok', title: 'x', instructions: 'y', acceptance: [] }],
  });
  assert.ok(
    errors.some((e) => /^Task "Bad_Id" \(tasks\[0\]\): field "id" must be 1-40 characters/.test(e)),
    errors.join('\n'),
  );
  assert.ok(
    errors.some((e) => /^Task "ok" \(tasks\[1\]\): field "files" is missing/.test(e)),
    errors.join('\n'),
  );
  assert.match(errorsOf('nonsense')[0], /must be an object/);
  assert.match(
    errorsOf({ tasks: [{ ...task({ id: 'a' }), title: '  ' }] })[0],
    /field "title" the title must not be empty/,
  );
});

test('tasks that may edit the same files in parallel get an overlap warning', () => {
  const p = plan(
    { id: 'a', files: ['src/x.ts', 'README.md'] },
    { id: 'b', files: ['src/x.ts', 'README.md'] },
    { id: 'c', files: ['README.md'] },
  );
  assert.equal(p.warnings.length, 2);
  const readme = p.warnings.find((w) => w.files.includes('README.md'));
  assert.deepEqual(readme?.tasks, ['a', 'b', 'c']);
  assert.deepEqual(readme?.files, ['README.md']);
  const x = p.warnings.find((w) => w.files.includes('src/x.ts'));
  assert.deepEqual(x?.tasks, ['a', 'b']);
  assert.equal(x?.kind, 'overlap');
  assert.match(x?.message ?? '', /"a" and "b" may edit the same file \(src\/x\.ts\) in parallel/);
});

test('a directory and a file inside it overlap', () => {
  const p = plan({ id: 'a', files: ['src/ui'] }, { id: 'b', files: ['src/ui/button.ts'] });
  assert.deepEqual(
    p.warnings.map((w) => [w.tasks, w.files]),
    [[['a', 'b'], ['src/ui']]],
  );
});

test('no overlap warning when one task depends on the other, even transitively', () => {
  const p = plan(
    { id: 'a', files: ['f.ts'] },
    { id: 'b', dependsOn: ['a'] },
    { id: 'c', files: ['f.ts'], dependsOn: ['b'] },
  );
  assert.deepEqual(p.warnings, []);
});

test('topologicalOrder keeps plan order among ready tasks', () => {
  const p = plan({ id: 'c', dependsOn: ['b'] }, { id: 'a' }, { id: 'b' }, { id: 'd', dependsOn: ['a'] });
  assert.deepEqual(topologicalOrder(p), ['a', 'b', 'c', 'd']);
  const broken: Plan = { ...p, tasks: p.tasks.map((t) => (t.id === 'a' ? { ...t, dependsOn: ['d'] } : t)) };
  assert.throws(() => topologicalOrder(broken), /cycle/);
});

test('dependentsOf is transitive and in plan order', () => {
  const p = plan(
    { id: 'a' },
    { id: 'c', dependsOn: ['b'] },
    { id: 'b', dependsOn: ['a'] },
    { id: 'd' },
    { id: 'e', dependsOn: ['c', 'd'] },
  );
  assert.deepEqual(dependentsOf(p, 'a'), ['c', 'b', 'e']);
  assert.deepEqual(dependentsOf(p, 'd'), ['e']);
  assert.deepEqual(dependentsOf(p, 'e'), []);
});

/** Checks the rules of OpenAI's strict json_schema mode on every object in a schema. */
function strictProblems(node: unknown, where = '$'): string[] {
  if (node === null || typeof node !== 'object') return [];
  if (Array.isArray(node)) return node.flatMap((n, i) => strictProblems(n, `${where}[${i}]`));
  const obj = node as Record<string, unknown>;
  const problems: string[] = [];
  for (const k of ['$schema', 'minLength', 'maxLength', 'minItems', 'maxItems'])
    if (k in obj) problems.push(`${where} has ${k}`);
  if (obj.type === 'object') {
    const props = Object.keys(obj.properties ?? {}).sort();
    const required = [...((obj.required ?? []) as string[])].sort();
    if (obj.additionalProperties !== false) problems.push(`${where} lacks additionalProperties: false`);
    if (JSON.stringify(props) !== JSON.stringify(required)) problems.push(`${where} does not require every property`);
  }
  for (const [k, v] of Object.entries(obj)) {
    if (k === 'properties')
      for (const [name, s] of Object.entries(v as object)) problems.push(...strictProblems(s, `${where}.${name}`));
    else problems.push(...strictProblems(v, `${where}.${k}`));
  }
  return problems;
}

test('the JSON Schema is valid for strict json_schema mode and matches the zod schema', () => {
  assert.deepEqual(strictProblems(planJsonSchema), []);
  const taskSchema = (
    planJsonSchema.properties as {
      tasks: { items: { required: string[]; properties: Record<string, { pattern?: string }> } };
    }
  ).tasks.items;
  assert.deepEqual(taskSchema.required, ['id', 'title', 'instructions', 'acceptance', 'files', 'dependsOn']);
  assert.equal(taskSchema.properties.id.pattern, '^[a-z0-9][a-z0-9-]{0,39}$');
  assert.ok(rawPlanSchema.safeParse({ tasks: [task({ id: 'a' })] }).success);
  assert.deepEqual(strictProblems({ type: 'object', properties: { a: { type: 'string' } }, required: [] }).length, 2);
});

test('the id "integration" is reserved for the integration branch', () => {
  const raw = {
    tasks: [{ id: 'integration', title: 'x', instructions: 'y', acceptance: ['z'], files: [], dependsOn: [] }],
  };
  const result = validatePlan(raw, 'spec');
  assert.equal(result.ok, false);
  assert.match(result.ok ? '' : result.errors.join('\n'), /reserved/);
});
