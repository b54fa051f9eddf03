/**
 * Finding a repository's own checks (type-check, lint, tests) from its files, and parsing a
 * user-configured list of checks. Detection only reads files; it never runs anything.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { CheckSpec } from '../core/verify';

/** package.json scripts taken as checks, cheapest first; the first name found in a group wins. */
const SCRIPT_GROUPS: readonly (readonly string[])[] = [['typecheck', 'type-check', 'tsc'], ['lint'], ['test']];

/**
 * Detect the checks of the repository at `root`. Contract, in this order:
 * - package.json scripts typecheck|type-check|tsc (the first present), lint, test →
 *   `npm run <name> --silent` (`pnpm run <name>` with pnpm-lock.yaml, `yarn run <name>` with
 *   yarn.lock); npm's placeholder test script ("no test specified" … exit 1) is ignored;
 * - a Makefile (Makefile, makefile, GNUmakefile) with a `test:` target → `make test`, else with a
 *   `check:` target → `make check`; such a target is taken as the repository's test entry point,
 *   so the package.json test script and the language runners below are then not added as well;
 * - pytest configured (pyproject.toml [tool.pytest…], pytest.ini, setup.cfg [tool:pytest], tox.ini
 *   [pytest]) or a tests/ directory holding test_*.py or *_test.py → `python3 -m pytest -q`;
 * - Cargo.toml → `cargo test --quiet`; go.mod → `go test ./...`.
 * Returns [] when nothing is found. Unreadable or malformed files count as absent.
 */
export async function detectChecks(root: string): Promise<CheckSpec[]> {
  const make = await detectMakeTarget(root);
  const checks = await detectPackageScripts(root, make === null);
  if (make !== null) {
    checks.push({ name: `make ${make}`, command: `make ${make}` });
    return checks;
  }
  if (await detectPytest(root)) checks.push({ name: 'pytest', command: 'python3 -m pytest -q' });
  if (await isFile(join(root, 'Cargo.toml'))) checks.push({ name: 'cargo test', command: 'cargo test --quiet' });
  if (await isFile(join(root, 'go.mod'))) checks.push({ name: 'go test', command: 'go test ./...' });
  return checks;
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    // Missing or unreadable: treated as absent, which is what detection wants.
    return null;
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    // Does not exist (or cannot be seen): not a file for our purposes.
    return false;
  }
}

/** The command that runs a package.json script with the package manager the lockfile names. */
async function scriptCommand(root: string, name: string): Promise<string> {
  if (await isFile(join(root, 'pnpm-lock.yaml'))) return `pnpm run ${name}`;
  if (await isFile(join(root, 'yarn.lock'))) return `yarn run ${name}`;
  return `npm run ${name} --silent`;
}

/** True for npm's placeholder: `echo "Error: no test specified" && exit 1`. */
function isPlaceholderTest(script: string): boolean {
  return /no test specified/i.test(script) && /exit\s+1/.test(script);
}

async function readScripts(root: string): Promise<Record<string, string>> {
  const text = await readText(join(root, 'package.json'));
  if (text === null) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // A malformed package.json has no usable scripts.
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null) return {};
  const scripts = (parsed as { scripts?: unknown }).scripts;
  if (typeof scripts !== 'object' || scripts === null) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(scripts)) if (typeof v === 'string' && v.trim() !== '') out[k] = v;
  return out;
}

async function detectPackageScripts(root: string, includeTest: boolean): Promise<CheckSpec[]> {
  const scripts = await readScripts(root);
  const checks: CheckSpec[] = [];
  for (const group of SCRIPT_GROUPS) {
    const name = group.find((n) => n in scripts);
    if (name === undefined) continue;
    if (name === 'test' && (!includeTest || isPlaceholderTest(scripts[name]))) continue;
    checks.push({ name, command: await scriptCommand(root, name) });
  }
  return checks;
}

/** The targets a Makefile defines at the start of a rule line (`a b: deps`), variables excluded. */
export function makefileTargets(text: string): Set<string> {
  const targets = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_.\-/%][A-Za-z0-9_.\-/% ]*?)\s*::?(?![=:])/.exec(line);
    if (m === null) continue;
    for (const t of m[1].split(/\s+/)) if (t !== '') targets.add(t);
  }
  return targets;
}

async function detectMakeTarget(root: string): Promise<'test' | 'check' | null> {
  for (const file of ['GNUmakefile', 'makefile', 'Makefile']) {
    const text = await readText(join(root, file));
    if (text === null) continue;
    const targets = makefileTargets(text);
    if (targets.has('test')) return 'test';
    if (targets.has('check')) return 'check';
    return null;
  }
  return null;
}

async function detectPytest(root: string): Promise<boolean> {
  if (await isFile(join(root, 'pytest.ini'))) return true;
  const configs: [string, RegExp][] = [
    ['pyproject.toml', /^\s*\[tool\.pytest[\].]/m],
    ['setup.cfg', /^\s*\[tool:pytest\]/m],
    ['tox.ini', /^\s*\[pytest\]/m],
  ];
  for (const [file, re] of configs) {
    const text = await readText(join(root, file));
    if (text !== null && re.test(text)) return true;
  }
  return hasPythonTests(join(root, 'tests'), 3);
}

/** True when `dir` (searched `depth` levels deep) holds a test_*.py or *_test.py file. */
async function hasPythonTests(dir: string, depth: number): Promise<boolean> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    // No such directory: no tests there.
    return false;
  }
  for (const e of entries) {
    if (e.isFile() && /^test_.*\.py$|^.+_test\.py$/.test(e.name)) return true;
  }
  if (depth <= 1) return false;
  for (const e of entries) {
    if (e.isDirectory() && !e.name.startsWith('.') && (await hasPythonTests(join(dir, e.name), depth - 1))) return true;
  }
  return false;
}

/**
 * Parse a user-configured list of checks (the CLI's `--check`). Entries are separated by `;;` or
 * newlines; blank entries and lines starting with `#` are ignored. An entry `name=command` names
 * its check (the name: a letter followed by letters, digits, `_ . : -`, spaces allowed around
 * `=`); an all-capitals name such as `CI=1 npm test` is read as an environment assignment, so such
 * an entry is a bare command. A bare command is named after its first word (leading `VAR=value`
 * assignments skipped, path stripped); repeated names get `-2`, `-3`… appended.
 */
export function parseCheckList(text: string): CheckSpec[] {
  const checks: CheckSpec[] = [];
  const seen = new Map<string, number>();
  for (const raw of text.split(/;;|\r?\n/)) {
    const entry = raw.trim();
    if (entry === '' || entry.startsWith('#')) continue;
    const parsed = parseEntry(entry);
    if (parsed === null) continue;
    const count = (seen.get(parsed.name) ?? 0) + 1;
    seen.set(parsed.name, count);
    checks.push({ name: count === 1 ? parsed.name : `${parsed.name}-${count}`, command: parsed.command });
  }
  return checks;
}

function parseEntry(entry: string): CheckSpec | null {
  const named = /^([A-Za-z][\w.:-]*)\s*=\s*(.*)$/.exec(entry);
  if (named !== null && !/^[A-Z_][A-Z0-9_]*$/.test(named[1])) {
    const command = named[2].trim();
    return command === '' ? null : { name: named[1], command };
  }
  return { name: commandName(entry), command: entry };
}

function commandName(command: string): string {
  const words = command.split(/\s+/);
  const first = words.find((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w)) ?? words[0];
  const name = basename(first.replace(/^['"]|['"]$/g, ''));
  return name === '' ? 'check' : name;
}
