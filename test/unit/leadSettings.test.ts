import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readLeadSettings } from '../../src/app/leadSettings';
import { runSettings } from '../../src/app/leadOptions';

/** A reader over a flat map of `foreman.*` keys (without the prefix), as VS Code's configuration gives them. */
function reader(values: Record<string, unknown>): (key: string) => unknown {
  return (key) => values[key];
}

test('nothing set: the defaults of package.json', () => {
  const { settings, warnings } = readLeadSettings(reader({}));
  assert.deepEqual(warnings, []);
  assert.deepEqual(settings, {
    backends: [],
    defaultBackend: null,
    roles: {},
    concurrency: 4,
    holdForReview: false,
    budgets: { runTokens: null, runCost: null, taskTokens: null, taskCost: null },
    checks: null,
    review: true,
    worktreeRoot: null,
    retention: { keepFinishedRuns: 3, abandonedAfterDays: 7 },
    setup: { command: null, include: null },
    commandPolicy: { allow: [], rules: [], workspaceRules: [] },
    approvalTimeoutMs: 300_000,
    maxSteps: 40,
    maxTasks: 50,
    maxRepairRounds: 2,
    dirty: 'refuse',
    sandbox: { mode: 'on', network: 'none', allowedHosts: [], env: [] },
    mcpServers: { user: undefined, workspace: undefined },
  });
});

test('foreman.mcpServers is read per level; an invalid value is left out with a warning', () => {
  const server = { command: 'npx', args: ['-y', 'srv'], tools: { '*': 'allow' as const } };
  const { settings, warnings } = readLeadSettings(reader({}), (key) =>
    key === 'mcpServers'
      ? { user: { mine: server }, workspace: [{ repo: { url: 'http://127.0.0.1:9/mcp' } }, { bad: { port: 1 } }] }
      : { user: undefined, workspace: [] },
  );
  assert.deepEqual(settings.mcpServers, {
    user: { mine: server },
    workspace: { repo: { url: 'http://127.0.0.1:9/mcp' } },
  });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /workspace foreman\.mcpServers is not valid/);
});

test('sandbox settings: valid values are read; a name that cannot be passed is left out with a warning', () => {
  const { settings, warnings } = readLeadSettings(
    reader({
      'sandbox.mode': 'off',
      'sandbox.network': 'host',
      'sandbox.env': ['DATABASE_URL', 'OPENAI_API_KEY', 'NOT A NAME', 'DATABASE_URL'],
    }),
  );
  assert.deepEqual(settings.sandbox, { mode: 'off', network: 'host', allowedHosts: [], env: ['DATABASE_URL'] });
  assert.equal(warnings.length, 2);
  assert.match(warnings[0], /OPENAI_API_KEY holds Foreman's API key/);
  assert.match(warnings[1], /not variable names: "NOT A NAME"/);
  const bad = readLeadSettings(reader({ 'sandbox.mode': 'maybe' }));
  assert.equal(bad.settings.sandbox.mode, 'on', 'an invalid mode falls back to the sandbox, never to none');
  assert.match(bad.warnings[0], /foreman\.sandbox\.mode is not valid/);
});

test('the defaults here match the defaults package.json declares', async () => {
  const manifest = (await import('../../package.json', { with: { type: 'json' } })).default as {
    contributes: { configuration: { properties: Record<string, { default: unknown }> } };
  };
  const props = manifest.contributes.configuration.properties;
  const values: Record<string, unknown> = {};
  for (const [key, p] of Object.entries(props)) values[key.replace(/^foreman\./, '')] = p.default;
  const fromManifest = readLeadSettings(reader(values));
  assert.deepEqual(fromManifest.warnings, [], 'every declared default must be valid');
  assert.deepEqual(fromManifest.settings, readLeadSettings(reader({})).settings);
});

test('valid values are read, blank strings mean none', () => {
  const { settings, warnings } = readLeadSettings(
    reader({
      backends: [
        {
          name: 'local',
          baseUrl: 'http://127.0.0.1:8000/v1',
          models: ['qwen'],
          maxConcurrentRequests: 8,
          prices: { qwen: { input: 0.1, cachedInput: 0.01, output: 0.4 } },
        },
      ],
      defaultBackend: ' local ',
      concurrency: 16,
      'budgets.runCost': 2.5,
      checks: [{ name: 'test', command: 'npm test', timeoutMs: 60000 }],
      'worktrees.location': '   ',
      'setup.command': 'npm ci',
      'commandPolicy.allow': ['network', 'network'],
      dirtyCheckout: 'snapshot',
    }),
  );
  assert.deepEqual(warnings, []);
  assert.equal(settings.backends[0].maxConcurrentRequests, 8);
  assert.equal(settings.defaultBackend, 'local');
  assert.equal(settings.concurrency, 16);
  assert.equal(settings.budgets.runCost, 2.5);
  assert.deepEqual(settings.checks, [{ name: 'test', command: 'npm test', timeoutMs: 60000 }]);
  assert.equal(settings.worktreeRoot, null);
  assert.equal(settings.setup.command, 'npm ci');
  assert.deepEqual(settings.commandPolicy, { allow: ['network'], rules: [], workspaceRules: [] });
  assert.equal(settings.dirty, 'snapshot');
});

test('a bad backend is left out with a warning that names it; the good ones stay', () => {
  const { settings, warnings } = readLeadSettings(
    reader({
      backends: [
        { name: 'nomodels', baseUrl: 'http://localhost:1/v1', models: [] },
        { name: 'ok', baseUrl: 'http://localhost:2/v1', models: ['m'] },
        { name: 'ok', baseUrl: 'http://localhost:3/v1', models: ['m'] },
        { baseUrl: 'not a url', models: ['m'] },
        { name: 'key', baseUrl: 'http://localhost:4/v1', models: ['m'], apiKey: 'sk-secret' },
      ],
    }),
  );
  assert.deepEqual(
    settings.backends.map((b) => b.baseUrl),
    ['http://localhost:2/v1'],
  );
  assert.equal(warnings.length, 4);
  assert.match(warnings[0], /"nomodels".*at least one model/);
  assert.match(warnings[1], /"ok".*same name/);
  assert.match(warnings[2], /#4/);
  assert.match(warnings[3], /"key"/);
  assert.ok(!warnings.join('\n').includes('sk-secret'), 'a warning never repeats a value that may be a key');
});

test('bad scalar values fall back to their defaults, each with a warning', () => {
  const { settings, warnings } = readLeadSettings(
    reader({
      backends: 'vllm',
      concurrency: 0,
      holdForReview: 'yes',
      'budgets.runTokens': -5,
      dirtyCheckout: 'stash',
      'commandPolicy.allow': ['everything'],
    }),
  );
  assert.deepEqual(settings.backends, []);
  assert.equal(settings.concurrency, 4);
  assert.equal(settings.holdForReview, false);
  assert.equal(settings.budgets.runTokens, null);
  assert.equal(settings.dirty, 'refuse');
  assert.deepEqual(settings.commandPolicy.allow, []);
  assert.equal(warnings.length, 6);
  assert.match(warnings.find((w) => w.includes('concurrency')) ?? '', /foreman\.concurrency is not valid.*using 4/);
});

/** Levels over two flat maps: the user's settings and one workspace's. */
function levels(user: Record<string, unknown>, workspace: Record<string, unknown>) {
  return (key: string) => ({ user: user[key], workspace: key in workspace ? [workspace[key]] : [] });
}

test("the user's command rules are read; a bad rule is left out with a warning", () => {
  const { settings, warnings } = readLeadSettings(
    reader({
      'commandPolicy.rules': [
        { match: 'npx tsc', decision: 'allow' },
        { match: '  ', decision: 'deny' },
        { match: 'make deploy', decision: 'never' },
        { match: 'git push origin feature/*', decision: 'allow' },
      ],
    }),
  );
  assert.deepEqual(settings.commandPolicy.rules, [
    { match: 'npx tsc', decision: 'allow' },
    { match: 'git push origin feature/*', decision: 'allow' },
  ]);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0], /Rule #2 in foreman\.commandPolicy\.rules is left out: match/);
  assert.match(warnings[1], /Rule #3/);
});

test('workspace settings can only tighten the command policy', () => {
  const read = reader({});
  const { settings, warnings } = readLeadSettings(
    read,
    levels(
      {
        'commandPolicy.allow': ['network', 'git_push'],
        'commandPolicy.rules': [{ match: 'npx tsc', decision: 'allow' }],
      },
      {
        'commandPolicy.allow': ['network', 'privilege'],
        'commandPolicy.rules': [
          { match: 'curl', decision: 'allow' },
          { match: 'make deploy', decision: 'deny' },
          { match: 'npm test', decision: 'ask' },
        ],
      },
    ),
  );
  assert.deepEqual(settings.commandPolicy, {
    allow: ['network'],
    rules: [{ match: 'npx tsc', decision: 'allow' }],
    workspaceRules: [
      { match: 'make deploy', decision: 'deny' },
      { match: 'npm test', decision: 'ask' },
    ],
  });
  assert.equal(warnings.length, 2);
  assert.match(warnings[0], /names privilege, which your user settings do not allow/);
  assert.match(warnings[1], /Workspace rule "curl" \(allow\).*ignored/);
});

test('a workspace that sets nothing leaves the user policy as it is; an empty allow list takes every category away', () => {
  const user = { 'commandPolicy.allow': ['recursive_delete'] };
  assert.deepEqual(readLeadSettings(reader({}), levels(user, {})).settings.commandPolicy.allow, ['recursive_delete']);
  const emptied = readLeadSettings(reader({}), levels(user, { 'commandPolicy.allow': [] }));
  assert.deepEqual(emptied.settings.commandPolicy.allow, []);
  assert.deepEqual(emptied.warnings, []);
  const merged = readLeadSettings(reader({ 'commandPolicy.allow': ['privilege'] }), levels(user, {}));
  assert.deepEqual(
    merged.settings.commandPolicy.allow,
    ['recursive_delete'],
    'the merged value is never read for the policy',
  );
});

test('the network from your settings: an allow-list of hosts, a bad entry left out with a warning', () => {
  const { settings, warnings } = readLeadSettings(
    reader({
      'sandbox.network': 'allowList',
      'sandbox.allowedHosts': ['Registry.npmjs.org', '*.pythonhosted.org', 'https://evil.example/', '*'],
    }),
  );
  assert.equal(settings.sandbox.network, 'allowList');
  assert.deepEqual(settings.sandbox.allowedHosts, ['registry.npmjs.org', '*.pythonhosted.org']);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0], /foreman\.sandbox\.allowedHosts: "https:\/\/evil\.example\/" is a URL/);
  const unknown = readLeadSettings(reader({ 'sandbox.network': 'everything' }));
  assert.equal(unknown.settings.sandbox.network, 'none', 'an invalid network falls back to none');
  assert.match(unknown.warnings[0], /foreman\.sandbox\.network is not valid/);
});

test('a workspace can only tighten the network: a wider one and hosts you do not allow stay refused', () => {
  const user = { 'sandbox.network': 'allowList', 'sandbox.allowedHosts': ['*.npmjs.org', 'pypi.org'] };
  const wider = readLeadSettings(reader({}), levels(user, { 'sandbox.network': 'host' }));
  assert.equal(wider.settings.sandbox.network, 'allowList');
  assert.match(wider.warnings.join('\n'), /foreman\.sandbox\.network asks for "host".*stays "allowList"/);
  const narrowed = readLeadSettings(
    reader({}),
    levels(user, { 'sandbox.allowedHosts': ['registry.npmjs.org', 'evil.example'] }),
  );
  assert.deepEqual(narrowed.settings.sandbox.allowedHosts, ['registry.npmjs.org']);
  assert.match(narrowed.warnings.join('\n'), /names evil\.example, which your user settings do not allow/);
  const off = readLeadSettings(reader({}), levels(user, { 'sandbox.network': 'none' }));
  assert.deepEqual([off.settings.sandbox.network, off.settings.sandbox.allowedHosts], ['none', []]);
  assert.deepEqual(off.warnings, []);
  const fromHost = readLeadSettings(
    reader({}),
    levels({ 'sandbox.network': 'host' }, { 'sandbox.network': 'allowList', 'sandbox.allowedHosts': ['pypi.org'] }),
  );
  assert.deepEqual(
    [fromHost.settings.sandbox.network, fromHost.settings.sandbox.allowedHosts],
    ['allowList', ['pypi.org']],
  );
});

test('roles and a backend’s headers and router are read; a bad role entry is left out with a warning', () => {
  const backend = {
    name: 'c',
    baseUrl: 'http://c:8000/v1',
    models: ['m'],
    headers: { 'x-team': 'a' },
    router: 'dynamo',
  };
  const { settings, warnings } = readLeadSettings(
    reader({ backends: [backend], roles: { planner: ['big@c', 'm'], agent: ['m'] } }),
  );
  assert.deepEqual(warnings, []);
  assert.deepEqual(settings.backends, [backend]);
  assert.deepEqual(settings.roles, { planner: ['big@c', 'm'], agent: ['m'] });
  const bad = readLeadSettings(reader({ roles: { agent: [] } }));
  assert.deepEqual(bad.settings.roles, {});
  assert.equal(bad.warnings.length, 1);
  assert.match(bad.warnings[0], /roles/);
});

test("a backend's metricsUrl and energy source are kept; an energy setting that names a program is left out", () => {
  const { settings, warnings } = readLeadSettings(
    reader({
      backends: [
        {
          name: 'gpu',
          baseUrl: 'http://gpu:8000/v1',
          models: ['m'],
          metricsUrl: null,
          energy: { source: 'dcgm', url: 'http://gpu:9400/metrics' },
        },
        { name: 'local', baseUrl: 'http://localhost:8000/v1', models: ['m'], energy: { source: 'nvidia-smi' } },
        { name: 'odd', baseUrl: 'http://x/v1', models: ['m'], energy: { source: 'nvidia-smi', command: '/tmp/x' } },
      ],
    }),
  );
  assert.deepEqual(
    settings.backends.map((b) => [b.name, b.metricsUrl, b.energy]),
    [
      ['gpu', null, { source: 'dcgm', url: 'http://gpu:9400/metrics' }],
      ['local', undefined, { source: 'nvidia-smi' }],
    ],
  );
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /"odd"/);
  const options = {
    backend: 'gpu',
    model: 'm',
    concurrency: 2,
    budgetTokens: null,
    budgetCost: null,
    holdForReview: false,
  };
  assert.deepEqual(runSettings(settings, options, {}).telemetry, {
    metricsUrl: null,
    energy: { source: 'dcgm', url: 'http://gpu:9400/metrics' },
  });
});
