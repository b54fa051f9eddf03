/**
 * `npm start` (scripts/start.mjs) when code-server cannot be set up: here because the Node on PATH
 * is not Node 20 (a `node` on PATH that says it is Node 18, as a developer's nvm default might),
 * which scripts/e2e-setup.sh refuses first thing. The script must say why and what it needs in a
 * few sentences, and leave no temporary folder (no sample copy) behind.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from './runHarness';

const root = mkdtempSync(join(tmpdir(), 'foreman-start-test-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('npm start with code-server impossible to set up says what it needs and leaves nothing behind', () => {
  const bin = join(root, 'bin');
  const tmp = join(root, 'tmp');
  mkdirSync(bin);
  mkdirSync(tmp);
  writeFileSync(
    join(bin, 'node'),
    '#!/usr/bin/env bash\ncase "$1" in --version) echo v18.20.4 ;; *) echo 18 ;; esac\n',
  );
  chmodSync(join(bin, 'node'), 0o755);
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env.PATH}`, TMPDIR: tmp };
  env.FOREMAN_EDITOR = 'code-server';
  delete env.FOREMAN_E2E_CODE_SERVER;
  const r = spawnSync(process.execPath, [join(PROJECT_ROOT, 'scripts/start.mjs')], {
    cwd: PROJECT_ROOT,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 1, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.deepEqual(lines.slice(-2), [
    'start: code-server could not be set up: code-server 4.100.3 needs Node 20 (this is v18.20.4).',
    "npm start needs VS Code: the desktop editor (`code` on your PATH), or code-server in the browser, which scripts/e2e-setup.sh installs once on Debian or Ubuntu (x86_64, Node 20, root or sudo for apt-get, the npm registry and Debian's archive). Install VS Code and run npm start again, or run `bash scripts/e2e-setup.sh` to see the whole setup's output.",
  ]);
  assert.ok(lines.length <= 4, `a few lines, not a screen:\n${r.stderr}`);
  assert.doesNotMatch(r.stdout + r.stderr, /npm run package|at .*\.mjs:\d+/, 'nothing was built, no stack trace');
  assert.deepEqual(readdirSync(tmp), [], 'no temporary folder is left');
});
