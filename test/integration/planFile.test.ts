import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonErrorOffset, loadPlan, savePlan } from '../../src/infra/planFile';
import { createRepoReader } from '../../src/infra/repoReader';
import { buildRepoView } from '../../src/core/repoView';
import { validatePlan } from '../../src/core/planGraph';
import type { Plan } from '../../src/core/plan';

const root = mkdtempSync(join(tmpdir(), 'foreman-planfile-'));
after(() => rmSync(root, { recursive: true, force: true }));

function samplePlan(): Plan {
  const r = validatePlan(
    {
      tasks: [
        {
          id: 'api',
          title: 'API',
          instructions: 'Add the API.',
          acceptance: ['npm test passes'],
          files: ['src/api.ts', 'README.md'],
          dependsOn: [],
        },
        {
          id: 'docs',
          title: 'Docs',
          instructions: 'Document it.',
          acceptance: ['README explains'],
          files: ['README.md'],
          dependsOn: [],
        },
      ],
    },
    'Add an API — with ünïcode.',
  );
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.plan;
}

test('a saved plan loads back equal, as stable pretty JSON with a trailing newline', async () => {
  const file = join(root, 'nested', 'dir', 'plan.json');
  const plan = samplePlan();
  assert.equal(plan.warnings.length, 1);
  await savePlan(file, plan);
  const first = readFileSync(file, 'utf8');
  assert.ok(first.endsWith('}\n'));
  assert.match(
    first,
    /^\{\n {2}"version": 1,\n {2}"spec": "Add an API — with ünïcode\.",\n {2}"tasks": \[\n {4}\{\n {6}"id": "api",\n {6}"title"/,
  );
  // The same plan with its keys in another order gives the same bytes.
  const shuffled = JSON.parse(
    JSON.stringify({
      warnings: plan.warnings,
      tasks: plan.tasks.map((t) => Object.fromEntries(Object.entries(t).reverse())),
      spec: plan.spec,
      version: 1,
    }),
  );
  await savePlan(file, shuffled);
  assert.equal(readFileSync(file, 'utf8'), first);
  const loaded = await loadPlan(file);
  assert.ok(loaded.ok);
  assert.deepEqual(loaded.plan, plan);
});

test('a hand-edited plan is re-validated and the errors name the file', async () => {
  const file = join(root, 'edited.json');
  const data = JSON.parse(JSON.stringify(samplePlan()));
  data.tasks[0].dependsOn = ['docs'];
  data.tasks[1].dependsOn = ['api'];
  writeFileSync(file, JSON.stringify(data, null, 2));
  const loaded = await loadPlan(file);
  assert.equal(loaded.ok, false);
  if (loaded.ok) return;
  assert.deepEqual(loaded.errors, [
    `${file}: Tasks form a dependency cycle: api → docs → api; remove one of these dependencies so the work can start.`,
  ]);
});

test('a hand edit that resolves an overlap recomputes the warnings', async () => {
  const file = join(root, 'fixed.json');
  const data = JSON.parse(JSON.stringify(samplePlan()));
  data.tasks[1].dependsOn = ['api'];
  writeFileSync(file, JSON.stringify(data));
  const loaded = await loadPlan(file);
  assert.ok(loaded.ok);
  assert.deepEqual(loaded.plan.warnings, []);
});

test('unknown keys, a wrong version and bad paths are reported', async () => {
  const file = join(root, 'typos.json');
  const data = JSON.parse(JSON.stringify(samplePlan()));
  data.tasks[0].dependson = [];
  data.extra = true;
  data.version = 2;
  writeFileSync(file, JSON.stringify(data));
  const loaded = await loadPlan(file);
  assert.equal(loaded.ok, false);
  if (loaded.ok) return;
  assert.equal(loaded.errors.length, 3);
  assert.ok(loaded.errors.every((e) => e.startsWith(`${file}: `)));
  assert.ok(loaded.errors.some((e) => /Task "api" \(tasks\[0\]\) has an unknown key "dependson"/.test(e)));
  assert.ok(loaded.errors.some((e) => /unknown key "extra" at the top level/.test(e)));
  assert.ok(loaded.errors.some((e) => /"version" is 2/.test(e)));

  data.version = 1;
  delete data.extra;
  delete data.tasks[0].dependson;
  data.tasks[0].files = ['../outside.ts'];
  writeFileSync(file, JSON.stringify(data));
  const paths = await loadPlan(file);
  assert.equal(paths.ok, false);
  if (!paths.ok) assert.match(paths.errors[0], /Task "api": file path "\.\.\/outside\.ts" contains/);
});

test('a file that is not JSON gives the line and column', async () => {
  const file = join(root, 'broken.json');
  writeFileSync(file, '{\n  "version": 1,\n  "tasks": [\n    { "id": "a", },\n  ]\n}\n');
  const loaded = await loadPlan(file);
  assert.equal(loaded.ok, false);
  if (!loaded.ok)
    assert.deepEqual(loaded.errors, [`${file}: the file is not valid JSON at line 4, column 18 (unexpected "}").`]);
  writeFileSync(file, '{"tasks": [');
  const cut = await loadPlan(file);
  assert.ok(!cut.ok && /line 1, column 12 \(unexpected end of file\)/.test(cut.errors[0]));
});

test('a missing file is an error value', async () => {
  const file = join(root, 'missing.json');
  assert.deepEqual(await loadPlan(file), {
    ok: false,
    errors: [`${file}: cannot read the plan file (there is no such file).`],
  });
});

test('jsonErrorOffset agrees with JSON.parse', () => {
  const valid = ['{}', '[]', ' {"a": [1, -2.5e3, true, null, "x\\u00e9\\n"]} ', '"s"', '0'];
  for (const text of valid) assert.equal(jsonErrorOffset(text), -1, text);
  const invalid: [string, number][] = [
    ['', 0],
    ['{"a":1,}', 7],
    ['[1 2]', 3],
    ['01', 1],
    ['"a\nb"', 2],
    ['{"a" 1}', 5],
    ['tru', 0],
    ['{} x', 3],
  ];
  for (const [text, at] of invalid) {
    assert.throws(() => JSON.parse(text));
    assert.equal(jsonErrorOffset(text), at, JSON.stringify(text));
  }
});

function git(cwd: string, ...args: string[]): void {
  execFileSync('git', args, { cwd, stdio: 'ignore' });
}

test('the repo reader lists tracked and untracked files, not ignored ones, and reads text safely', async () => {
  const repo = join(root, 'repo');
  mkdirSync(join(repo, 'src'), { recursive: true });
  git(repo, 'init', '-q');
  writeFileSync(join(repo, '.gitignore'), 'build/\n');
  writeFileSync(join(repo, 'README.md'), '\uFEFF# Hello\nwörld\n');
  writeFileSync(join(repo, 'src', 'a b.ts'), 'export const a = 1;\n');
  writeFileSync(join(repo, 'logo.png'), Buffer.from([0x89, 0x50, 0x00, 0x01]));
  git(repo, 'add', '.');
  writeFileSync(join(repo, 'new.ts'), 'untracked\n');
  mkdirSync(join(repo, 'build'));
  writeFileSync(join(repo, 'build', 'out.js'), 'ignored\n');
  writeFileSync(join(root, 'secret.txt'), 'secret\n');
  symlinkSync(join(root, 'secret.txt'), join(repo, 'link.txt'));

  const reader = createRepoReader(repo);
  const files = (await reader.listFiles()).sort();
  assert.deepEqual(files, ['.gitignore', 'README.md', 'link.txt', 'logo.png', 'new.ts', 'src/a b.ts']);
  assert.equal(await reader.readText('README.md', 1000), '# Hello\nwörld\n');
  assert.equal(await reader.readText('README.md', 12), '# Hello\nw', 'a cut multi-byte character is dropped');
  assert.equal(await reader.readText('logo.png', 100), null, 'binary');
  assert.equal(await reader.readText('link.txt', 100), null, 'link out of the repository');
  assert.equal(await reader.readText('../secret.txt', 100), null, 'parent path');
  assert.equal(await reader.readText(join(root, 'secret.txt'), 100), null, 'absolute path');
  assert.equal(await reader.readText('src', 100), null, 'directory');
  assert.equal(await reader.readText('nope.txt', 100), null, 'missing');

  const view = await buildRepoView(reader);
  assert.equal(view, await buildRepoView(createRepoReader(repo)));
  assert.match(view, /## Files \(6\)\nsrc\/\n {2}a b\.ts\n/);
  assert.match(view, /## README\.md\n# Hello\nwörld\n$/);
});

test('listing a directory that is not a git repository rejects, and an aborted listing rejects', async () => {
  const plain = mkdtempSync(join(tmpdir(), 'foreman-notgit-'));
  try {
    await assert.rejects(createRepoReader(plain).listFiles());
    await assert.rejects(createRepoReader(join(root, 'repo')).listFiles(AbortSignal.abort()), { name: 'AbortError' });
  } finally {
    rmSync(plain, { recursive: true, force: true });
  }
});
