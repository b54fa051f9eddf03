import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigFile, resolveSettings } from '../../src/app/settings';
import { parseCommandLine, UsageError } from '../../src/cli/options';

test('--allow and --command-rule are the command line user’s own policy', () => {
  const cl = parseCommandLine(
    ['run', 'x', '--allow', 'network', '--command-rule', 'allow:npx tsc', '--command-rule', ' deny : make deploy '],
    '/tmp',
  );
  assert.deepEqual(cl.flags.allow, ['network']);
  assert.deepEqual(cl.flags.commandRules, [
    { decision: 'allow', match: 'npx tsc' },
    { decision: 'deny', match: 'make deploy' },
  ]);
  const settings = resolveSettings({}, {}, cl.flags);
  assert.deepEqual(settings.commandPolicy, {
    allow: ['network'],
    rules: [
      { decision: 'allow', match: 'npx tsc' },
      { decision: 'deny', match: 'make deploy' },
    ],
    workspaceRules: [],
  });
  assert.deepEqual(settings.notices, []);
  assert.throws(() => parseCommandLine(['run', '--command-rule', 'maybe:ls'], '/tmp'), UsageError);
  assert.throws(() => parseCommandLine(['run', '--command-rule', 'allow:'], '/tmp'), UsageError);
});

test('foreman.json can only tighten the command policy, and says so when it tries more', () => {
  const file = ConfigFile.parse({
    commandPolicy: {
      allow: ['network', 'privilege'],
      rules: [
        { match: 'npm test', decision: 'ask' },
        { match: 'curl', decision: 'allow' },
      ],
    },
  });
  const settings = resolveSettings(file, {}, { allow: ['network', 'git_push'] });
  assert.deepEqual(settings.commandPolicy, {
    allow: ['network'],
    rules: [],
    workspaceRules: [{ match: 'npm test', decision: 'ask' }],
  });
  assert.equal(settings.notices.length, 2);
  assert.match(settings.notices[0], /allows privilege.*can only tighten.*--allow privilege/);
  assert.match(settings.notices[1], /"curl" \(allow\) is ignored.*--command-rule "allow:curl"/);
  assert.deepEqual(resolveSettings({}, {}, { allow: ['git_push'] }).commandPolicy.allow, ['git_push']);
  assert.throws(() => ConfigFile.parse({ commandPolicy: { rules: [{ match: 'x', decision: 'sometimes' }] } }));
});
