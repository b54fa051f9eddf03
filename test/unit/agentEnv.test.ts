/**
 * The agent environment's allow-list (src/core/agentEnv.ts) and the sandbox settings of the
 * command line (foreman.json and flags, src/app/settings.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentEnvironment, checkEnvNames } from '../../src/core/agentEnv';
import { describeSandboxState, sandboxState } from '../../src/core/sandbox';
import { resolveSettings, SettingsError } from '../../src/app/settings';

const FOLDERS = { home: '/s/home', tmp: '/s/tmp', cache: '/s/cache' };

test('only allow-listed and named variables pass; the task folders and extras are set last', () => {
  const parent = {
    PATH: '/usr/bin',
    LANG: 'C.UTF-8',
    LANGUAGE: 'en',
    LC_ALL: 'C',
    LC_MESSAGES: 'C',
    TERM: 'xterm',
    TZ: 'UTC',
    CI: 'true',
    HOME: '/root',
    TMPDIR: '/tmp',
    USER: 'dev',
    SSH_AUTH_SOCK: '/run/agent.sock',
    DATABASE_URL: 'postgres://u:p@h/d',
    OPENAI_API_KEY: 'sk-1',
    FOREMAN_API_KEY: 'sk-2',
    NODE_TEST_CONTEXT: 'child-v8',
    NAMED: 'yes',
    UNSET: undefined,
  };
  const env = agentEnvironment(parent, ['NAMED', 'UNSET', 'OPENAI_API_KEY'], FOLDERS, { WORKTREE_PATH: '/w' });
  assert.deepEqual(env, {
    PATH: '/usr/bin',
    LANG: 'C.UTF-8',
    LANGUAGE: 'en',
    LC_ALL: 'C',
    LC_MESSAGES: 'C',
    TERM: 'xterm',
    TZ: 'UTC',
    CI: 'true',
    NAMED: 'yes',
    HOME: '/s/home',
    TMPDIR: '/s/tmp',
    XDG_CACHE_HOME: '/s/cache',
    GIT_TERMINAL_PROMPT: '0',
    WORKTREE_PATH: '/w',
  });
  assert.equal(parent.HOME, '/root', 'the parent is not modified');
});

test("names for sandbox.env: variable names only, never Foreman's key variables", () => {
  assert.equal(checkEnvNames([]), null);
  assert.equal(checkEnvNames(['DATABASE_URL', '_x1']), null);
  assert.match(checkEnvNames(['A-B', '1X', '']) ?? '', /not variable names: "A-B", "1X", ""/);
  assert.match(checkEnvNames(['FOREMAN_API_KEY', 'OPENAI_API_KEY']) ?? '', /hold Foreman's API key/);
});

test('foreman.json and flags: the sandbox is on with no network by default; --no-sandbox turns it off', () => {
  assert.deepEqual(resolveSettings({}, {}, {}).sandbox, { mode: 'on', network: 'none', env: [] });
  const file = { sandbox: { network: 'host' as const, env: ['DATABASE_URL'] } };
  assert.deepEqual(resolveSettings(file, {}, { sandboxEnv: ['REDIS_URL', 'DATABASE_URL'] }).sandbox, {
    mode: 'on',
    network: 'host',
    env: ['DATABASE_URL', 'REDIS_URL'],
  });
  assert.equal(resolveSettings({ sandbox: { mode: 'off' } }, {}, {}).sandbox.mode, 'off');
  assert.equal(resolveSettings({}, {}, { noSandbox: true }).sandbox.mode, 'off');
  assert.equal(resolveSettings({}, {}, { sandboxNetwork: 'none' }).sandbox.network, 'none');
  assert.throws(() => resolveSettings({ sandbox: { env: ['FOREMAN_API_KEY'] } }, {}, {}), SettingsError);
});

test('the sandbox state in words: on, off by choice, unavailable with what to do', () => {
  const on = sandboxState('on', { available: true, name: 'bubblewrap 0.8.0', summary: 'no network' });
  assert.equal(describeSandboxState(on), 'Sandbox: bubblewrap 0.8.0: no network.');
  const off = sandboxState('off', { available: false, name: 'bubblewrap', reason: 'not installed' });
  assert.equal(off.kind, 'off', 'off is off, whether or not a sandbox could run');
  assert.match(describeSandboxState(off), /^Sandbox OFF: .*unconfined, as your own user/);
  const none = sandboxState('on', { available: false, name: 'bubblewrap', reason: 'bwrap is not installed' });
  const line = describeSandboxState(none);
  assert.match(
    line,
    /^Sandbox unavailable: no sandbox can run here: bwrap is not installed\. Agent commands are refused\./,
  );
  assert.match(line, /apt-get install bubblewrap/);
  assert.match(line, /--no-sandbox/);
});
