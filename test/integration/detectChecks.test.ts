import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { detectChecks, makefileTargets, parseCheckList } from '../../src/infra/detectChecks';
import { runChecks } from '../../src/core/verify';
import type { CheckSpec } from '../../src/core/verify';
import { unconfinedRunner } from './runners';

/** Create a temporary git repository holding `files`, run `fn` on it, then remove it. */
async function withRepo(files: Record<string, string>, fn: (root: string) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'foreman-detect-'));
  try {
    execFileSync('git', ['init', '-q'], { cwd: root });
    for (const [rel, content] of Object.entries(files)) {
      mkdirSync(dirname(join(root, rel)), { recursive: true });
      writeFileSync(join(root, rel), content);
    }
    await fn(root);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

const commands = (checks: CheckSpec[]): string[] => checks.map((c) => c.command);
const pkg = (scripts: Record<string, string>): string => JSON.stringify({ name: 'x', version: '1.0.0', scripts });

test('an empty repository has no checks', () =>
  withRepo({ 'README.md': '# hi\n' }, async (root) => {
    assert.deepEqual(await detectChecks(root), []);
  }));

test('package.json scripts: cheap first, synonyms collapsed, npm by default', () =>
  withRepo(
    { 'package.json': pkg({ test: 'node --test', lint: 'eslint .', 'type-check': 'tsc', tsc: 'tsc -b', build: 'x' }) },
    async (root) => {
      assert.deepEqual(await detectChecks(root), [
        { name: 'type-check', command: 'npm run type-check --silent' },
        { name: 'lint', command: 'npm run lint --silent' },
        { name: 'test', command: 'npm run test --silent' },
      ]);
    },
  ));

test("npm's placeholder test script is skipped", () =>
  withRepo(
    { 'package.json': pkg({ typecheck: 'tsc', test: 'echo "Error: no test specified" && exit 1' }) },
    async (root) => {
      assert.deepEqual(commands(await detectChecks(root)), ['npm run typecheck --silent']);
    },
  ));

test('detected npm scripts run through runChecks with only the script output', () =>
  withRepo(
    { 'package.json': pkg({ lint: 'echo lint clean', test: 'echo "not ok 1 - sums" && exit 3' }) },
    async (root) => {
      const res = await runChecks(await detectChecks(root), {
        runner: unconfinedRunner(root),
        cwd: root,
        timeoutMs: 30_000,
      });
      assert.equal(res.status, 'failed');
      assert.deepEqual(
        res.checks.map((c) => [c.name, c.status, c.exitCode, c.output]),
        [
          ['lint', 'passed', 0, 'lint clean'],
          ['test', 'failed', 3, 'not ok 1 - sums'],
        ],
      );
    },
  ));

test('the lockfile picks pnpm or yarn', async () => {
  await withRepo(
    { 'package.json': pkg({ test: 'vitest' }), 'pnpm-lock.yaml': "lockfileVersion: '9.0'\n" },
    async (root) => {
      assert.deepEqual(commands(await detectChecks(root)), ['pnpm run test']);
    },
  );
  await withRepo({ 'package.json': pkg({ lint: 'eslint .' }), 'yarn.lock': '# yarn lockfile v1\n' }, async (root) => {
    assert.deepEqual(commands(await detectChecks(root)), ['yarn run lint']);
  });
});

test('a malformed package.json is treated as having no scripts', () =>
  withRepo({ 'package.json': '{ "scripts": ', 'go.mod': 'module x\n' }, async (root) => {
    assert.deepEqual(commands(await detectChecks(root)), ['go test ./...']);
  }));

test('a Makefile test target is the test entry point', () =>
  withRepo(
    {
      Makefile: 'CC := gcc\n.PHONY: test build\nbuild:\n\t$(CC) main.c\ntest: build\n\t./run-tests\n',
      'package.json': pkg({ lint: 'eslint .', test: 'jest' }),
      'Cargo.toml': '[package]\nname = "x"\n',
    },
    async (root) => {
      assert.deepEqual(await detectChecks(root), [
        { name: 'lint', command: 'npm run lint --silent' },
        { name: 'make test', command: 'make test' },
      ]);
    },
  ));

test('a Makefile with only a check target runs make check; variables are not targets', async () => {
  await withRepo({ Makefile: 'all lint check:: deps\n\techo ok\n' }, async (root) => {
    assert.deepEqual(commands(await detectChecks(root)), ['make check']);
  });
  await withRepo({ Makefile: 'test := 1\ncheck ?= 2\nTEST_FLAGS ::= -v\nbuild:\n\ttrue\n' }, async (root) => {
    assert.deepEqual(await detectChecks(root), []);
  });
  assert.deepEqual([...makefileTargets('a b: c\n\tcmd: x\nv := 1\n.PHONY: a\n')], ['a', 'b', '.PHONY']);
});

test('pytest is detected from its configuration or from a tests directory', async () => {
  const cases: Record<string, string>[] = [
    { 'pyproject.toml': '[project]\nname = "x"\n\n[tool.pytest.ini_options]\naddopts = "-q"\n' },
    { 'pytest.ini': '[pytest]\n' },
    { 'setup.cfg': '[metadata]\nname = x\n[tool:pytest]\ntestpaths = tests\n' },
    { 'tox.ini': '[tox]\nenvlist = py3\n[pytest]\naddopts = -q\n' },
    { 'tests/test_math.py': 'def test_add():\n    assert 1 + 1 == 2\n' },
    { 'tests/unit/math_test.py': 'def test_add():\n    pass\n' },
  ];
  for (const files of cases) {
    await withRepo(files, async (root) => {
      assert.deepEqual(
        await detectChecks(root),
        [{ name: 'pytest', command: 'python3 -m pytest -q' }],
        JSON.stringify(files),
      );
    });
  }
  const negatives: Record<string, string>[] = [
    { 'pyproject.toml': '[project]\nname = "x"\n[tool.ruff]\n' },
    { 'tests/helpers.py': 'x = 1\n' },
    { 'setup.cfg': '[metadata]\nname = x\n' },
  ];
  for (const files of negatives) {
    await withRepo(files, async (root) => {
      assert.deepEqual(await detectChecks(root), [], JSON.stringify(files));
    });
  }
});

test('Cargo.toml and go.mod add their test runners', () =>
  withRepo({ 'Cargo.toml': '[package]\nname = "x"\n', 'go.mod': 'module example.com/x\n\ngo 1.22\n' }, async (root) => {
    assert.deepEqual(await detectChecks(root), [
      { name: 'cargo test', command: 'cargo test --quiet' },
      { name: 'go test', command: 'go test ./...' },
    ]);
  }));

test('parseCheckList reads named and bare entries separated by ;; or newlines', () => {
  const list = parseCheckList(
    'types=npx tsc --noEmit;;lint = npm run lint\n\n# a comment\nnpm test ;; CI=1 npm test\n./scripts/check.sh --fast',
  );
  assert.deepEqual(list, [
    { name: 'types', command: 'npx tsc --noEmit' },
    { name: 'lint', command: 'npm run lint' },
    { name: 'npm', command: 'npm test' },
    { name: 'npm-2', command: 'CI=1 npm test' },
    { name: 'check.sh', command: './scripts/check.sh --fast' },
  ]);
  assert.deepEqual(parseCheckList('  ;;\n '), []);
  assert.deepEqual(parseCheckList('empty='), []);
});
