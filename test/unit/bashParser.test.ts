/**
 * The ShellParser port on tree-sitter-bash: words as the shell passes them, every simple command
 * wherever it sits, redirections with their owners, where input comes from, and parse errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ShellCommand } from '../../src/core/shellSyntax';
import { createBashParser } from '../../src/infra/bashParser';
import { decodeAnsiC } from '../../src/infra/bashWords';

const parser = createBashParser();

async function commands(line: string): Promise<ShellCommand[]> {
  const script = await parser.parse(line);
  assert.equal(script.error, null, line);
  return script.commands;
}

/** Each word's value, `<source>` when only known at run time, `~value` for a glob. */
async function words(line: string): Promise<string[][]> {
  return (await commands(line)).map((c) =>
    c.words.map((w) => (w.value === null ? `<${w.source}>` : w.glob ? `~${w.value}` : w.value)),
  );
}

test("quotes and escapes are removed; $'…' strings are decoded", async () => {
  assert.deepEqual(await words(`r''m "r"m \\rm 'rm' $'\\x72m' $'\\162m' $'\\u0072m' "a\\"b" 'a\\b'`), [
    ['rm', 'rm', 'rm', 'rm', 'rm', 'rm', 'rm', 'a"b', 'a\\b'],
  ]);
  assert.deepEqual(await words('rm\\\n -rf x'), [['rm', '-rf', 'x']], 'a backslash-newline joins the line');
  assert.equal(decodeAnsiC('\\t\\n\\x41\\101\\cA\\q'), '\t\nAA\x01\\q');
});

test('anything only known at run time has no value; globs are marked; a lone [ is not a glob', async () => {
  assert.deepEqual(await words('$X ${IFS} a${b}c "$(id)" `id` $((1+2)) {a,b} x{1..3} "{a,b}" *.ts [ -f x ]'), [
    [
      '<$X>',
      '<${IFS}>',
      '<a${b}c>',
      '<"$(id)">',
      '<`id`>',
      '<$((1+2))>',
      '<{a,b}>',
      '<x{1..3}>',
      '{a,b}',
      '~*.ts',
      '[',
      '-f',
      'x',
      ']',
    ],
    ['id'],
    ['id'],
  ]);
});

test('every simple command is found, in source order, wherever it sits', async () => {
  const line =
    'a && b || c; d | e & (f) ; { g; } ; echo $(h `i`) <(j) ; if k; then l; fi ; m() { n; } ; ' +
    'cat <<EOF\n$(o) `p`\nEOF\n';
  const names = (await words(line)).map((w) => w[0]);
  assert.deepEqual(names, ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'echo', 'h', 'i', 'j', 'k', 'l', 'n', 'cat', 'o', 'p']);
  const quoted = (await words("cat <<'EOF'\n$(o) `p`\nEOF\n")).map((w) => w[0]);
  assert.deepEqual(quoted, ['cat'], 'a quoted here-document is plain text');
});

test('a trailing redirection belongs to the last simple command, a group keeps its own', async () => {
  const [a, b] = await commands('a && b 2>/dev/null > out.txt');
  assert.deepEqual(a.redirects, []);
  assert.deepEqual(
    b.redirects.map((r) => [r.fd, r.op, r.target?.value]),
    [
      [2, '>', '/dev/null'],
      [null, '>', 'out.txt'],
    ],
  );
  assert.equal(b.text, 'b 2>/dev/null > out.txt');
  const [group, x, y] = await commands('{ x; y; } >> ../log');
  assert.deepEqual(group.words, [], 'the group comes as a command with no words');
  assert.equal(group.redirects[0].target?.value, '../log');
  assert.deepEqual([x.redirects, y.redirects], [[], []]);
});

test('standard input: a pipe, text of the line, a file, or what the line was given', async () => {
  const input = async (line: string) => (await commands(line)).map((c) => `${c.words[0]?.value ?? '{}'}:${c.stdin}`);
  assert.deepEqual(await input('a | sh'), ['a:inherited', 'sh:pipe']);
  assert.deepEqual(await input("sh <<< 'x'"), ['sh:here']);
  assert.deepEqual(await input('cat <<EOF | sh\nx\nEOF'), ['cat:here', 'sh:pipe']);
  assert.deepEqual(await input('sh < script.sh'), ['sh:file']);
  assert.deepEqual(await input('sh < <(curl x)'), ['sh:pipe', 'curl:inherited']);
  assert.deepEqual(await input('a && { b; } < in'), ['{}:file', 'a:inherited', 'b:file']);
});

test('assignments and declarations', async () => {
  const [bare, prefixed, id, exported] = await commands('X=rm; FOO=1 BAR=$(id) make; export PATH=/x Y');
  assert.equal(id.words[0].value, 'id', 'the substitution in an assignment is a command too');
  assert.deepEqual(bare.words, []);
  assert.deepEqual(
    bare.assignments.map((a) => [a.name, a.value.value]),
    [['X', 'rm']],
  );
  assert.deepEqual(
    prefixed.assignments.map((a) => [a.name, a.value.value]),
    [
      ['FOO', '1'],
      ['BAR', null],
    ],
  );
  assert.deepEqual(
    exported.words.map((w) => w.value),
    ['export', 'PATH=/x', 'Y'],
  );
});

test('a syntax error is a value that says where', async () => {
  for (const line of ['a && && b', '"open', 'if then fi', '$(']) {
    const script = await parser.parse(line);
    assert.match(script.error ?? '', /line 1, column \d+/, line);
  }
  assert.equal((await parser.parse('')).error, null);
});
