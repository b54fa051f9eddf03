/**
 * The agent environment's allow-list (src/core/agentEnv.ts) and the sandbox settings of the
 * command line (foreman.json and flags, src/app/settings.ts and src/cli/options.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { agentEnvironment, checkEnvNames, proxyEnvironment } from '../../src/core/agentEnv';
import { describeSandboxState, sandboxState } from '../../src/core/sandbox';
import { resolveSettings, SettingsError } from '../../src/app/settings';
import { parseCommandLine } from '../../src/cli/options';

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
  assert.deepEqual(resolveSettings({}, {}, {}).sandbox, { mode: 'on', network: 'none', allowedHosts: [], env: [] });
  const file = { sandbox: { env: ['DATABASE_URL'] } };
  assert.deepEqual(
    resolveSettings(file, {}, { sandboxNetwork: 'host', sandboxEnv: ['REDIS_URL', 'DATABASE_URL'] }).sandbox,
    {
      mode: 'on',
      network: 'host',
      allowedHosts: [],
      env: ['DATABASE_URL', 'REDIS_URL'],
    },
  );
  assert.equal(resolveSettings({ sandbox: { mode: 'off' } }, {}, {}).sandbox.mode, 'off');
  assert.equal(resolveSettings({}, {}, { noSandbox: true }).sandbox.mode, 'off');
  assert.equal(resolveSettings({}, {}, { sandboxNetwork: 'none' }).sandbox.network, 'none');
  assert.throws(() => resolveSettings({ sandbox: { env: ['FOREMAN_API_KEY'] } }, {}, {}), SettingsError);
});

test('the command line: --sandbox-network allow-list and --allow-host, which alone implies the allow-list', () => {
  const line = parseCommandLine(
    [
      'run',
      '--sandbox-network',
      'allow-list',
      '--allow-host',
      'registry.npmjs.org',
      '--allow-host',
      '*.pythonhosted.org',
    ],
    '/repo',
  );
  assert.equal(line.flags.sandboxNetwork, 'allowList');
  assert.deepEqual(line.flags.allowHosts, ['registry.npmjs.org', '*.pythonhosted.org']);
  assert.throws(
    () => parseCommandLine(['run', '--sandbox-network', 'allowList'], '/repo'),
    /must be one of none, allow-list, host/,
  );
  const implied = resolveSettings({}, {}, parseCommandLine(['run', '--allow-host', 'PyPI.org'], '/repo').flags);
  assert.deepEqual(implied.sandbox, { mode: 'on', network: 'allowList', allowedHosts: ['pypi.org'], env: [] });
  assert.deepEqual(implied.notices, []);
  assert.throws(
    () => resolveSettings({}, {}, { sandboxNetwork: 'host', allowHosts: ['pypi.org'] }),
    /--allow-host filters only an allow-listed network; it cannot be used with --sandbox-network host/,
  );
  assert.throws(
    () => resolveSettings({}, {}, { allowHosts: ['https://pypi.org/simple'] }),
    /--allow-host cannot be used: .*URL/,
  );
  const empty = resolveSettings({}, {}, { sandboxNetwork: 'allowList' });
  assert.deepEqual(empty.sandbox.allowedHosts, []);
  assert.match(empty.notices.join('\n'), /allow-list but no host is allowed: agent commands get no network/);
});

test('foreman.json can only tighten the network: a wider one is ignored with a notice, its hosts only narrow yours', () => {
  const wider = resolveSettings({ sandbox: { network: 'host' } }, {}, {});
  assert.equal(wider.sandbox.network, 'none', "a repository cannot give agents the host's network");
  assert.match(wider.notices.join('\n'), /foreman\.json asks for sandbox\.network "host".*pass --sandbox-network host/);
  const listed = resolveSettings(
    { sandbox: { network: 'allowList', allowedHosts: ['pypi.org', 'evil.example'] } },
    {},
    {},
  );
  assert.deepEqual([listed.sandbox.network, listed.sandbox.allowedHosts], ['none', []]);
  const narrowed = resolveSettings(
    { sandbox: { allowedHosts: ['registry.npmjs.org', 'evil.example'] } },
    {},
    { allowHosts: ['*.npmjs.org', 'pypi.org'] },
  );
  assert.deepEqual(narrowed.sandbox.allowedHosts, ['registry.npmjs.org']);
  assert.match(
    narrowed.notices.join('\n'),
    /foreman\.json allows evil\.example in sandbox\.allowedHosts.*--allow-host evil\.example/,
  );
  const tighter = resolveSettings(
    { sandbox: { network: 'allowList', allowedHosts: ['registry.npmjs.org'] } },
    {},
    { sandboxNetwork: 'host' },
  );
  assert.deepEqual([tighter.sandbox.network, tighter.sandbox.allowedHosts], ['allowList', ['registry.npmjs.org']]);
  assert.throws(
    () => resolveSettings({ sandbox: { allowedHosts: ['*'] } }, {}, {}),
    /foreman\.json's sandbox\.allowedHosts cannot be used/,
  );
});

test('an allow-listed sandbox sends proxy-aware programs to the proxy, and its own loopback past it', () => {
  const env = proxyEnvironment('http://127.0.0.1:3128');
  for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'http_proxy', 'https_proxy', 'all_proxy'])
    assert.equal(env[name], 'http://127.0.0.1:3128', name);
  assert.equal(env.NO_PROXY, 'localhost,127.0.0.1,::1');
  assert.equal(env.no_proxy, env.NO_PROXY);
});

test('the sandbox state in words: on, off by choice, unavailable with what to do', () => {
  const status = { available: true as const, name: 'bubblewrap 0.8.0', summary: 'its own processes' };
  const on = sandboxState('on', status);
  assert.equal(describeSandboxState(on), 'Sandbox: bubblewrap 0.8.0: its own processes; network: none.');
  const listed = sandboxState('on', status, {
    network: 'allowList',
    allowedHosts: ['registry.npmjs.org', '*.pythonhosted.org'],
  });
  assert.equal(
    describeSandboxState(listed),
    "Sandbox: bubblewrap 0.8.0: its own processes; network: only registry.npmjs.org, *.pythonhosted.org, through Foreman's proxy (ports 80 and 443 unless a host names its port).",
  );
  const empty = sandboxState('on', status, { network: 'allowList', allowedHosts: [] });
  assert.match(describeSandboxState(empty), /network: none \(sandbox\.allowedHosts is empty\)\.$/);
  const host = sandboxState('on', status, { network: 'host', allowedHosts: [] });
  assert.match(describeSandboxState(host), /network: the host's, unfiltered\.$/);
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
