import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigFile, resolveSettings, SettingsError } from '../../src/app/settings';
import { parseCommandLine, UsageError } from '../../src/cli/options';

const file = (raw: unknown): ConfigFile => ConfigFile.parse(raw);

const TWO = {
  backends: [
    { name: 'gpu', baseUrl: 'http://gpu:8000/v1', models: ['big', 'coder'], apiKeyEnv: 'GPU_KEY', router: 'dynamo' },
    { name: 'local', baseUrl: 'http://localhost:8001/v1', models: ['coder'], maxConcurrentRequests: 16 },
  ],
};

test('roles map to chains of models; a model is served by every endpoint that lists it', () => {
  const s = resolveSettings(file({ ...TWO, roles: { planner: ['big', 'coder@local'], agent: 'coder' } }), {}, {});
  const fabric = s.fabric;
  assert.ok(fabric);
  assert.deepEqual(fabric.roles.planner, [
    { model: 'big', endpoints: ['gpu'] },
    { model: 'coder', endpoints: ['local'] },
  ]);
  assert.deepEqual(fabric.roles.agent, [{ model: 'coder', endpoints: ['gpu', 'local'] }]);
  // A role not named takes the first endpoint's first model.
  assert.deepEqual(fabric.roles.reviewer, [{ model: 'big', endpoints: ['gpu'] }]);
  assert.equal(fabric.endpoints[1].options.maxConcurrentRequests, 16);
  assert.equal(fabric.endpoints[0].options.maxConcurrentRequests, 4, 'default: the run’s concurrency');
  assert.equal(fabric.endpoints[0].router, 'dynamo');
  assert.equal(s.backend?.model, 'coder', 'the run records the agent’s first choice');
  assert.equal(s.backend?.baseUrl, 'http://gpu:8000/v1');
});

test('each endpoint’s key comes from the variable it names, never from the file; an unset one is said', () => {
  const s = resolveSettings(file(TWO), { GPU_KEY: 'sk-gpu', FOREMAN_API_KEY: 'sk-global' }, {});
  assert.equal(s.fabric?.endpoints[0].options.apiKey, 'sk-gpu');
  assert.equal(s.fabric?.endpoints[1].options.apiKey, undefined, 'the global key is not sent to every endpoint');
  const unset = resolveSettings(file(TWO), {}, {});
  assert.ok(unset.notices.includes('backends "gpu": GPU_KEY is not set, so its requests go without a key.'));
  assert.throws(() => ConfigFile.parse({ backends: [{ ...TWO.backends[0], apiKey: 'sk' }] }));
});

test('role flags override foreman.json, and work with the one backend of --base-url', () => {
  const cl = parseCommandLine(['run', 'x', '--planner-model', 'big, small', '--agent-model', 'coder'], '/');
  assert.deepEqual(cl.flags.roleModels, { planner: ['big', 'small'], agent: ['coder'], reviewer: undefined });
  const s = resolveSettings({}, { FOREMAN_BASE_URL: 'http://h:1/v1', FOREMAN_MODEL: 'coder' }, cl.flags);
  assert.deepEqual(
    s.fabric?.endpoints.map((e) => [e.name, e.models]),
    [['backend', ['coder', 'big', 'small']]],
  );
  assert.deepEqual(
    s.fabric?.roles.planner.map((c) => c.model),
    ['big', 'small'],
  );
  assert.deepEqual(
    s.fabric?.roles.reviewer.map((c) => c.model),
    ['coder'],
  );
  assert.throws(() => parseCommandLine(['run', '--agent-model', ' , '], '/'), UsageError);
});

test('mistakes are sentences: an unknown model or endpoint, twin names, credentials in a URL', () => {
  assert.throws(
    () => resolveSettings(file({ ...TWO, roles: { agent: 'tiny' } }), {}, {}),
    (e: unknown) =>
      e instanceof SettingsError &&
      e.message ===
        'the agent\'s model "tiny" is not listed by any endpoint in backends: add it to an endpoint\'s models, or write "tiny@<endpoint>"',
  );
  assert.throws(
    () => resolveSettings(file({ ...TWO, roles: { agent: 'coder@cloud' } }), {}, {}),
    /names the endpoint "cloud", which is not in backends \(gpu, local\)/,
  );
  assert.throws(
    () => resolveSettings(file({ backends: [TWO.backends[1], TWO.backends[1]] }), {}, {}),
    /two endpoints are named "local"/,
  );
  assert.throws(
    () => resolveSettings(file({ backends: [{ name: 'x', baseUrl: 'http://u:p@h/v1', models: ['m'] }] }), {}, {}),
    /carries a user name or password/,
  );
  assert.throws(() => resolveSettings({}, {}, { roleModels: { agent: ['m'] } }), /roles are named but no backend/);
});

test('--base-url sets foreman.json’s backends aside; prices come from the endpoints', () => {
  const priced = {
    backends: [{ ...TWO.backends[1], prices: { coder: { input: 1, cachedInput: 0.1, output: 2 } } }],
  };
  assert.deepEqual(resolveSettings(file(priced), {}, {}).prices, { coder: { input: 1, cachedInput: 0.1, output: 2 } });
  const single = resolveSettings(file(priced), {}, { baseUrl: 'http://other:1/v1', model: 'x' });
  assert.equal(single.fabric, null);
  assert.equal(single.backend?.baseUrl, 'http://other:1/v1');
});
