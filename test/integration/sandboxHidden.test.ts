/**
 * What a sandboxed command can read outside its worktree: not the developer's checkout (its
 * untracked `.env`), not Foreman's home folder, not the system's temporary folder (where a folder
 * beside the repository sits here); yet the repository's git directory, a toolchain on PATH in the
 * home folder, and a path the command's environment names are there. Real bubblewrap, a real
 * worktree of a real temporary repository, the real task runner; HOME is a folder of the test's.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TaskRunner } from '../../src/core/ports';
import { DEFAULT_SANDBOX_SETTINGS } from '../../src/core/sandbox';
import { createBubblewrapSandbox } from '../../src/infra/bubblewrap';
import { createGitRepo } from '../../src/infra/gitRepo';
import { createTaskRunners } from '../../src/infra/taskRunners';
import type { TaskPlace } from '../../src/infra/taskRunners';
import { makeTempRepo } from './tempRepo';
import type { TempRepo } from './tempRepo';

const CANARY = `canary-${randomBytes(6).toString('hex')}`;
const saved = { HOME: process.env.HOME, PATH: process.env.PATH };

let t: TempRepo;
let home: string;
let place: TaskPlace;
let runner: TaskRunner;

before(async () => {
  t = makeTempRepo({ files: { 'README.md': '# hidden\n' } });
  t.write('.env', `SECRET=${CANARY}\n`);
  t.write('secrets/notes.txt', `${CANARY}\n`);
  t.write('../beside/secret.txt', `${CANARY}\n`);
  home = join(t.tmp, 'home');
  mkdirSync(join(home, '.ssh'), { recursive: true });
  writeFileSync(join(home, '.ssh', 'id_ed25519'), `${CANARY}\n`);
  // A toolchain in the home folder, laid out as nvm's: bin/ holds a link into ../lib.
  const tool = join(home, '.tool', 'v1');
  mkdirSync(join(tool, 'bin'), { recursive: true });
  mkdirSync(join(tool, 'lib'), { recursive: true });
  writeFileSync(join(tool, 'lib', 'hello.sh'), '#!/bin/sh\necho hello from the toolchain\n');
  chmodSync(join(tool, 'lib', 'hello.sh'), 0o755);
  symlinkSync('../lib/hello.sh', join(tool, 'bin', 'hello'));
  process.env.HOME = home;
  process.env.PATH = `${join(tool, 'bin')}:${saved.PATH ?? '/usr/bin:/bin'}`;
  const runners = createTaskRunners({ settings: DEFAULT_SANDBOX_SETTINGS, sandbox: createBubblewrapSandbox() });
  // The worktrees where Foreman puts them by default: in the home folder.
  const repo = await createGitRepo({ cwd: t.root, worktreeRoot: join(home, '.foreman', 'worktrees'), runners });
  const wt = await repo.ensureWorktree('r1', 't1', t.git(['rev-parse', 'HEAD']).trim(), null);
  place = repo.taskPlace('r1', 't1', wt.path);
  runner = await runners.open(place);
});

after(async () => {
  await runner.close();
  process.env.HOME = saved.HOME;
  process.env.PATH = saved.PATH;
  t.cleanup();
});

function sh(command: string, env?: Record<string, string>) {
  return runner.run(command, { cwd: place.worktree, timeoutMs: 20_000, env });
}

test("the checkout's untracked files, the home folder and a folder beside the repository cannot be read", async () => {
  const targets = [
    join(t.root, '.env'),
    join(t.root, 'secrets', 'notes.txt'),
    join(t.tmp, 'beside', 'secret.txt'),
    join(home, '.ssh', 'id_ed25519'),
  ];
  for (const target of targets) {
    const r = await sh(`cat '${target}'`);
    assert.notEqual(r.exitCode, 0, `${target} was read:\n${r.output}`);
    assert.match(r.output, /No such file or directory/);
  }
  const listing = await sh(
    `ls -a '${t.root}' '${home}' '${t.tmp}' /tmp; grep -rs '${CANARY}' '${t.root}' '${home}' /tmp; echo done`,
  );
  assert.ok(!listing.output.includes(CANARY), listing.output);
  assert.doesNotMatch(listing.output, /README\.md|\.ssh|beside/, `a hidden folder shows its files:\n${listing.output}`);
});

test('the git directory, the worktree, a toolchain on PATH in the home folder: there, and read-only', async () => {
  const r = await sh('git log --oneline -1 && cat README.md && hello && echo x > made.txt && echo made');
  assert.equal(r.exitCode, 0, r.output);
  assert.match(r.output, /initial\n# hidden\nhello from the toolchain\nmade/);
  assert.equal(readFileSync(join(place.worktree, 'made.txt'), 'utf8'), 'x\n');
  const writes = await sh(`echo x > '${join(home, '.tool', 'v1', 'lib', 'x')}' || echo refused`);
  assert.match(writes.output, /Read-only file system/);
  assert.match(writes.output, /refused/);
});

test("a path the command is given (a set-up command's REPO_PATH) is there to read", async () => {
  const r = await sh('cat "$REPO_PATH/.env"', { REPO_PATH: t.root });
  assert.equal(r.exitCode, 0, r.output);
  assert.equal(r.output, `SECRET=${CANARY}\n`);
  const write = await sh('echo x > "$REPO_PATH/new.txt"', { REPO_PATH: t.root });
  assert.notEqual(write.exitCode, 0, write.output);
});
