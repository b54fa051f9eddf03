/**
 * scripts/apt-wait.sh, which scripts/e2e-setup.sh and scripts/sandbox-setup.sh use for apt-get:
 * while another program holds Debian's package lock it says so in one line and waits, instead of
 * failing with apt's exit code 100. The apt-get here is a stand-in on PATH that behaves as apt 2.6
 * does under a held lock (measured on Debian 12): `install` with -o DPkg::Lock::Timeout prints
 * "Waiting for cache lock: …" on its standard output each second until the lock is free; `update`
 * fails at once on the lists lock, whatever the timeout.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from './runHarness';

const root = mkdtempSync(join(tmpdir(), 'foreman-aptwait-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A fake apt-get: `update` fails on the lists lock UPDATE_LOCKED times; `install` waits INSTALL_WAITS seconds. */
const FAKE_APT = `#!/usr/bin/env bash
state="$FAKE_STATE"
echo "$*" >>"$state/args"
n=$(cat "$state/updates" 2>/dev/null || echo 0)
for a in "$@"; do
  case "$a" in
    update)
      echo $((n + 1)) >"$state/updates"
      if [ "$n" -lt "\${UPDATE_LOCKED:-0}" ]; then
        echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (unattended-upgr)" >&2
        echo "E: Unable to lock directory /var/lib/apt/lists/" >&2
        exit 100
      fi
      echo "Reading package lists..."; exit 0 ;;
    install)
      for _ in $(seq 1 "\${INSTALL_WAITS:-0}"); do
        echo "Waiting for cache lock: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (unattended-upgr)..."
      done
      if [ -n "\${INSTALL_FAILS:-}" ]; then echo "E: Unable to locate package nosuchpackage" >&2; exit 100; fi
      echo "Setting up bubblewrap ..."; exit 0 ;;
  esac
done
exit 0
`;

function run(name: string, env: Record<string, string>, commands: string) {
  const dir = join(root, name);
  const bin = join(dir, 'bin');
  spawnSync('mkdir', ['-p', bin]);
  writeFileSync(join(bin, 'apt-get'), FAKE_APT);
  chmodSync(join(bin, 'apt-get'), 0o755);
  const script = `set -euo pipefail
log() { echo "test-setup: $*" >&2; }
SUDO=()
source ${JSON.stringify(join(PROJECT_ROOT, 'scripts/apt-wait.sh'))}
${commands}`;
  const r = spawnSync('bash', ['-c', script], {
    encoding: 'utf8',
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, FAKE_STATE: dir, ...env },
  });
  const args = (() => {
    try {
      return readFileSync(join(dir, 'args'), 'utf8');
    } catch {
      return '';
    }
  })();
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, args };
}

test('a held lock is announced in one line, waited for, and the install goes on', { timeout: 60_000 }, () => {
  const r = run('held', { UPDATE_LOCKED: '2', INSTALL_WAITS: '3' }, 'apt_get update\napt_get install -y bubblewrap');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '', "apt's own output is not shown");
  const lines = r.stderr.trim().split('\n');
  assert.deepEqual(lines, [
    "test-setup: Debian's package lock is held by process 4242 (unattended-upgr); waiting for it (up to 600 s, FOREMAN_APT_LOCK_WAIT)",
  ]);
  assert.equal(r.args.match(/update/g)?.length, 3, 'update tried again until the lists lock was free');
  assert.match(r.args, /-o DPkg::Lock::Timeout=\d+ install -y bubblewrap/, "apt waits for dpkg's lock itself");
});

test('a lock held past FOREMAN_APT_LOCK_WAIT fails with what to do', { timeout: 60_000 }, () => {
  // A few seconds: on a loaded machine the first refusal must still come inside the wait.
  const r = run('timeout', { UPDATE_LOCKED: '1000', FOREMAN_APT_LOCK_WAIT: '3' }, 'apt_get update');
  assert.notEqual(r.status, 0);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 2, r.stderr);
  assert.match(lines[0], /held by process 4242 \(unattended-upgr\); waiting for it \(up to 3 s/);
  assert.match(lines[1], /still held after 3 s: let the program holding it finish \(or set FOREMAN_APT_LOCK_WAIT/);
});

test("another failure shows apt's error lines only, at once", () => {
  const r = run('fails', { INSTALL_FAILS: '1' }, 'apt_get install -y nosuchpackage');
  assert.notEqual(r.status, 0);
  assert.equal(r.stderr, 'E: Unable to locate package nosuchpackage\n');
  assert.equal(r.args.split('\n').filter(Boolean).length, 1, 'not tried again');
});

test('both setup scripts use it and parse', () => {
  for (const name of ['e2e-setup.sh', 'sandbox-setup.sh']) {
    const file = join(PROJECT_ROOT, 'scripts', name);
    assert.equal(spawnSync('bash', ['-n', file]).status, 0, `${name} parses`);
    const text = readFileSync(file, 'utf8');
    assert.ok(text.includes('source "$(dirname "${BASH_SOURCE[0]}")/apt-wait.sh"'), `${name} sources apt-wait.sh`);
    const direct = text
      .split('\n')
      .filter((l) => /^\s*[^#\s].*\bapt-get (update|install)\b/.test(l) && !/\|\| die|die "/.test(l));
    assert.deepEqual(direct, [], `${name} runs apt-get only through apt_get`);
  }
});
