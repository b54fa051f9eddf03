import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_TOOLS, executeTool } from '../../src/core/tools';
import type { ToolContext, ToolOutcome } from '../../src/core/tools';
import type { ApprovalAnswer, ApprovalRequest, Approver } from '../../src/core/approver';
import { DEFAULT_POLICY } from '../../src/core/commandPolicy';
import { createBashParser } from '../../src/infra/bashParser';
import { createWorktreeFs } from '../../src/infra/sandboxFs';
import { isDead } from './processProbe';
import { unconfinedRunner } from './runners';

let base = '';
let repo = '';
let outsideFile = '';
let ctx: ToolContext;
let callId = 0;

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'foreman-tools-'));
  repo = join(base, 'repo');
  await mkdir(join(repo, 'src'), { recursive: true });
  execFileSync('git', ['init', '-q', repo]);
  outsideFile = join(base, 'outside.txt');
  await writeFile(outsideFile, 'untouched\n');
  await writeFile(join(repo, 'src', 'app.ts'), 'function a() {\n  return 1;\n}\nfunction b() {\n  return 1;\n}\n');
  await symlink(outsideFile, join(repo, 'escape.txt'));
  ctx = {
    fs: await createWorktreeFs(repo),
    runner: unconfinedRunner(base),
    policy: DEFAULT_POLICY,
    shell: createBashParser(),
    commandTimeoutMs: 10_000,
    maxOutputBytes: 4096,
  };
});

after(async () => {
  await rm(base, { recursive: true, force: true });
});

function call(name: string, args: unknown, over: Partial<ToolContext> = {}): Promise<ToolOutcome> {
  const raw = typeof args === 'string' ? args : JSON.stringify(args);
  return executeTool({ id: `call_${++callId}`, name, arguments: raw }, { ...ctx, ...over });
}

test('the tool list is fixed, ordered and frozen', () => {
  assert.deepEqual(
    AGENT_TOOLS.map((t) => t.name),
    ['read_file', 'list_dir', 'search', 'write_file', 'edit_file', 'run_command', 'finish'],
  );
  for (const t of AGENT_TOOLS) {
    const props = Object.keys(t.parameters.properties as object);
    for (const r of (t.parameters.required ?? []) as string[]) assert.ok(props.includes(r), `${t.name}.${r}`);
  }
  assert.ok(Object.isFrozen(AGENT_TOOLS) && Object.isFrozen(AGENT_TOOLS[0].parameters));
});

test('read_file returns exact text with its range; long files are cut with a hint', async () => {
  const all = await call('read_file', { path: 'src/app.ts' });
  assert.ok(all.ok);
  assert.equal(
    all.content,
    'src/app.ts (lines 1-6 of 6)\nfunction a() {\n  return 1;\n}\nfunction b() {\n  return 1;\n}\n',
  );
  const part = await call('read_file', { path: 'src/app.ts', start_line: '4', end_line: null });
  assert.ok(part.ok && part.content.startsWith('src/app.ts (lines 4-6 of 6)\nfunction b()'));
  await writeFile(join(repo, 'long.txt'), Array.from({ length: 200 }, (_, i) => `line ${i + 1}`).join('\n'));
  const cut = await call('read_file', { path: 'long.txt' }, { maxOutputBytes: 100 });
  assert.ok(cut.ok && cut.content.length < 300);
  assert.match(cut.content, /start_line=\d+/);
});

test('list_dir and search format their results', async () => {
  const list = await call('list_dir', '');
  assert.ok(list.ok);
  assert.match(list.content, /^src\/$/m);
  assert.match(list.content, /^escape\.txt@$/m);
  const found = await call('search', { pattern: 'return 1;' });
  assert.ok(found.ok);
  assert.match(found.content, /src\/app\.ts:2:\s+return 1;/);
  assert.match(found.content, /src\/app\.ts:5:/);
  const none = await call('search', { pattern: 'zzz-nothing', regex: 'false' });
  assert.ok(none.ok && /No matches/.test(none.content));
});

test('writes outside the worktree or into .git are refused and change nothing', async () => {
  for (const p of ['../outside.txt', outsideFile, 'escape.txt', '.git/config']) {
    const r = await call('write_file', { path: p, content: 'pwned\n' });
    assert.equal(r.ok, false, p);
    assert.equal(r.wrote, undefined);
  }
  const e = await call('edit_file', { path: 'escape.txt', old_text: 'untouched', new_text: 'pwned' });
  assert.equal(e.ok, false);
  assert.equal(await readFile(outsideFile, 'utf8'), 'untouched\n');
  assert.doesNotMatch(await readFile(join(repo, '.git', 'config'), 'utf8'), /pwned/);
});

test('write_file and edit_file change files and report the path', async () => {
  const w = await call('write_file', { path: 'src/new/mod.ts', content: 'export const v = 1;\n' });
  assert.ok(w.ok);
  assert.equal(w.wrote, 'src/new/mod.ts');
  const e = await call('edit_file', { path: join(repo, 'src/new/mod.ts'), old_text: 'v = 1', new_text: 'v = $& + 2' });
  assert.ok(e.ok, e.content);
  assert.equal(e.wrote, 'src/new/mod.ts');
  assert.equal(await readFile(join(repo, 'src', 'new', 'mod.ts'), 'utf8'), 'export const v = $& + 2;\n');
});

test('edit_file explains no match and several matches, and leaves the file alone', async () => {
  const before = await readFile(join(repo, 'src', 'app.ts'), 'utf8');
  const many = await call('edit_file', { path: 'src/app.ts', old_text: '  return 1;', new_text: '  return 2;' });
  assert.equal(many.ok, false);
  assert.match(many.content, /matches 2 places/);
  assert.match(many.content, /lines 2, 5/);
  assert.match(many.content, /more surrounding lines/);
  const none = await call('edit_file', {
    path: 'src/app.ts',
    old_text: 'function b() {\n    return 1;',
    new_text: 'x',
  });
  assert.equal(none.ok, false);
  assert.match(none.content, /not found/);
  assert.match(none.content, /line 4/);
  assert.equal(await readFile(join(repo, 'src', 'app.ts'), 'utf8'), before);
  const unique = await call('edit_file', {
    path: 'src/app.ts',
    old_text: 'function b() {\n  return 1;',
    new_text: 'function b() {\n  return 2;',
  });
  assert.ok(unique.ok);
  assert.match(await readFile(join(repo, 'src', 'app.ts'), 'utf8'), /function b\(\) \{\n {2}return 2;/);
});

test('edit_file matches LF text against a CRLF file', async () => {
  await writeFile(join(repo, 'win.txt'), 'one\r\ntwo\r\nthree\r\n');
  const r = await call('edit_file', { path: 'win.txt', old_text: 'one\ntwo', new_text: 'uno\ndos' });
  assert.ok(r.ok, r.content);
  assert.equal(await readFile(join(repo, 'win.txt'), 'utf8'), 'uno\r\ndos\r\nthree\r\n');
});

test('bad calls are outcomes the model can act on', async () => {
  const notJson = await call('read_file', '{"path": src/app.ts');
  assert.ok(!notJson.ok && /not valid JSON/.test(notJson.content) && /"path": string/.test(notJson.content));
  const missing = await call('edit_file', { path: 'src/app.ts', new_text: 'x' });
  assert.ok(!missing.ok && /old_text/.test(missing.content));
  const array = await call('finish', '[1]');
  assert.ok(!array.ok && /JSON object/.test(array.content));
  const unknown = await call('delete_everything', {});
  assert.ok(
    !unknown.ok && /read_file, list_dir, search, write_file, edit_file, run_command, finish/.test(unknown.content),
  );
  for (const r of [notJson, missing, array, unknown]) assert.ok(r.summary.length <= 200);
});

test('run_command reports exit code and output; cwd is the worktree root', async () => {
  const r = await call('run_command', { command: 'pwd; echo oops >&2; exit 3' });
  assert.equal(r.ok, false);
  assert.match(r.content, /exit code 3/);
  assert.match(r.content, /oops/);
  assert.ok(r.content.includes(ctx.fs.root));
  const good = await call('run_command', { command: 'git status --short' });
  assert.ok(good.ok, good.content);
});

test('run_command refuses by policy before running anything', async () => {
  const r = await call('run_command', { command: 'touch ran-marker && git push origin main' });
  assert.equal(r.ok, false);
  assert.match(r.content, /git_push/);
  assert.match(r.content, /commandPolicy\.allow/);
  assert.equal(existsSync(join(repo, 'ran-marker')), false);
  await mkdir(join(repo, 'build', 'deep'), { recursive: true });
  const allowed = await call(
    'run_command',
    { command: 'rm -rf build' },
    { policy: { ...DEFAULT_POLICY, allow: ['recursive_delete'] } },
  );
  assert.ok(allowed.ok);
  assert.equal(existsSync(join(repo, 'build')), false);
});

test('run_command refuses with the verdict: the rule and the simple command that decided', async () => {
  const r = await call('run_command', { command: 'npm run build; git push origin main' });
  assert.equal(r.ok, false);
  assert.equal(r.policy?.decision, 'deny');
  assert.equal(r.policy?.rule.id, 'git-push');
  assert.equal(r.policy?.command, 'git push origin main');
  assert.match(r.summary, /^run_command refused \(git-push\)/);
  const ran = await call('run_command', { command: 'true' });
  assert.equal(ran.policy?.decision, 'allow', 'an allowed run carries its verdict too');
});

test('an ask is not run without an approver, and the model is told who must approve', async () => {
  const r = await call('run_command', { command: 'touch asked.marker && curl -s http://127.0.0.1:9/' });
  assert.equal(r.ok, false);
  assert.match(r.content, /^Not run: `curl -s http:\/\/127\.0\.0\.1:9\/` needs the developer's approval\./);
  assert.match(r.content, /Rule: network\./);
  assert.match(r.content, /No one can approve commands during this run/);
  assert.match(r.content, /finish summary/);
  assert.equal(r.policy?.decision, 'ask');
  assert.deepEqual(r.approval?.approved, false);
  assert.equal(existsSync(join(repo, 'asked.marker')), false, 'no part of the line ran');
});

test('an approver decides an ask: approved runs, refused passes its reason on', async () => {
  const asked: ApprovalRequest[] = [];
  const approver = (answer: ApprovalAnswer): Approver => ({
    approve: (request) => {
      asked.push(request);
      return Promise.resolve(answer);
    },
  });
  const line = "node -e \"require('fs').writeFileSync('approved.marker', '')\"";
  const yes = await call(
    'run_command',
    { command: line },
    { approver: approver({ approved: true, scope: 'once', by: 'user' }), taskId: 't1' },
  );
  assert.ok(yes.ok, yes.content);
  assert.ok(existsSync(join(repo, 'approved.marker')));
  assert.deepEqual(yes.approval, { approved: true, scope: 'once', by: 'user' });
  assert.equal(asked[0].task, 't1');
  assert.equal(asked[0].line, line);
  assert.equal(asked[0].verdict.rule.id, 'inline-code');
  const no = await call(
    'run_command',
    { command: 'touch refused.marker; npx cowsay' },
    { approver: approver({ approved: false, by: 'user', reason: 'Not on this branch.' }) },
  );
  assert.equal(no.ok, false);
  assert.match(no.content, /Rule: package-runner\. Not on this branch\./);
  assert.equal(existsSync(join(repo, 'refused.marker')), false);
  assert.equal(asked.length, 2, 'a deny never reaches the approver');
  await call(
    'run_command',
    { command: 'git push' },
    { approver: approver({ approved: true, scope: 'once', by: 'user' }) },
  );
  assert.equal(asked.length, 2);
});

test('run_command time-out kills the command and its children', async () => {
  const r = await call(
    'run_command',
    { command: 'sh -c "sleep 100 & echo \\$! > sleeper.pid; wait"' },
    { commandTimeoutMs: 300 },
  );
  assert.equal(r.ok, false);
  assert.match(r.content, /timed out/);
  const pid = Number((await readFile(join(repo, 'sleeper.pid'), 'utf8')).trim());
  const end = Date.now() + 2000;
  while (!isDead(pid) && Date.now() < end) await new Promise((res) => setTimeout(res, 25));
  assert.ok(isDead(pid), 'the child sleep is still alive');
});

test('run_command output is capped and the environment holds no secret', async () => {
  const big = await call('run_command', { command: 'seq 1 100000' }, { maxOutputBytes: 2000 });
  assert.ok(big.ok);
  assert.match(big.content, /bytes omitted/);
  assert.ok(big.content.length < 2600);
  assert.match(big.content, /\n100000\n?$/);
  const saved = { key: process.env.OPENAI_API_KEY, token: process.env.MY_TOKEN };
  process.env.OPENAI_API_KEY = 'sk-tools-test-secret';
  process.env.MY_TOKEN = 'tools-token-secret';
  try {
    const env = await call('run_command', { command: 'env' }, { maxOutputBytes: 1_000_000 });
    assert.doesNotMatch(env.content, /sk-tools-test-secret|tools-token-secret/);
    assert.match(env.content, /^PATH=/m);
  } finally {
    if (saved.key === undefined) delete process.env.OPENAI_API_KEY;
    else process.env.OPENAI_API_KEY = saved.key;
    if (saved.token === undefined) delete process.env.MY_TOKEN;
    else process.env.MY_TOKEN = saved.token;
  }
});

test('finish carries the summary; a blank summary is refused', async () => {
  const done = await call('finish', { summary: 'Added b(); tests pass.' });
  assert.ok(done.ok);
  assert.deepEqual(done.finished, { summary: 'Added b(); tests pass.' });
  const blank = await call('finish', { summary: '   ' });
  assert.ok(!blank.ok && blank.finished === undefined);
  const long = await call('run_command', { command: `echo ${'x'.repeat(500)}` });
  assert.ok(long.summary.length <= 200);
});
