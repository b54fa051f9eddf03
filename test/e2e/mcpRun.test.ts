/**
 * The developer's own MCP server in a run started from the Lead panel, in a real VS Code. The
 * workspace's `.vscode/mcp.json` declares a small test server (test/fixtures/mcp/envServer.cjs) with
 * a token from `${input:…}` marked `"password": true` and a region from a `pickString` input. At Run,
 * Foreman asks for the token as VS Code does (an input box with the input's description, the text
 * hidden), then for the region (a quick pick of the options, the default first and marked), then about
 * the server's pin (its name and tool count) in a notification and on the Lead panel's board; the
 * input is answered in its box, the pin from the panel.
 * The scripted agent calls the server's `digest` (the SHA-256 of a variable of its environment: the
 * token's, so the token itself is in no tool result; then the region's) and `echo`; both results reached the model. The approval is in `.git/foreman/mcp-pins.json`
 * and the run's journal (approved by the user); the token is in none of Foreman's files, settings
 * or logs (only the extension's secret storage keeps it). The next run asks nothing: the kept
 * answer and the pin are used. Screenshots: test-results/e2e/mcp-run-*.png, mcp-rerun-*.png.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JournalEvent } from '../../src/core/journal';
import { listRunIds, readJournal, runJournalPath } from '../../src/infra/journalFile';
import { toolCall } from '../../src/scripted/scenario';
import type { Scenario } from '../../src/scripted/scenario';
import { contentText } from '../../src/scripted/wire';
import { PROJECT_ROOT } from './harness';
import { button, openLead, stages, waitForPhase, waitForRun } from './lead';
import { useSampleSession } from './sample';

/** The token the developer types; it must reach the server and nothing else. */
const TOKEN = 'tok-7f3a9c-e2e';
const DESCRIPTION = 'Token for the env server';
const SERVER = join(PROJECT_ROOT, 'test', 'fixtures', 'mcp', 'envServer.cjs');

const MCP_JSON = {
  servers: {
    envsrv: {
      command: 'node',
      args: [SERVER],
      env: { ENV_TOKEN: '${input:env-token}', ENV_REGION: '${input:region}' },
    },
  },
  inputs: [
    { type: 'promptString', id: 'env-token', description: DESCRIPTION, password: true },
    {
      type: 'pickString',
      id: 'region',
      description: 'Region of the env server',
      options: ['eu', { label: 'United States', value: 'us' }],
      default: 'us',
    },
  ],
};

const task = {
  id: 'env',
  title: 'Read the MCP server',
  instructions: "Ask the env server for its token's digest and echo a greeting.",
  acceptance: ['the server answered'],
  files: ['README.md'],
  dependsOn: [],
};

const scenario: Scenario = {
  planner: [{ content: JSON.stringify({ tasks: [task] }) }],
  agents: {
    env: [
      toolCall('mcp__envsrv__digest', { name: 'ENV_TOKEN' }),
      toolCall('mcp__envsrv__digest', { name: 'ENV_REGION' }),
      toolCall('mcp__envsrv__echo', { message: 'hello from the panel' }),
      toolCall('finish', { summary: 'the env server answered' }),
    ],
  },
  reviewer: [{ content: JSON.stringify({ approved: true, comments: 'Fine.' }) }],
};

const session = useSampleSession({
  scenario,
  settings: (server) => ({
    'foreman.backends': [{ name: 'scripted', baseUrl: server?.url, models: ['scripted-demo'] }],
    'foreman.concurrency': 1,
    // The user's permissions for the workspace's server: its tools need no ask per call.
    'foreman.mcpServers': { envsrv: { tools: { '*': 'allow' } } },
  }),
  ready: async (s) => {
    mkdirSync(join(s.sample.repo, '.vscode'), { recursive: true });
    writeFileSync(join(s.sample.repo, '.vscode', 'mcp.json'), `${JSON.stringify(MCP_JSON, null, 2)}\n`);
    s.sample.git('add', '-A');
    s.sample.git('commit', '-q', '-m', 'An MCP server for the workspace');
  },
});

test(
  'a run asks for the mcp.json input and the new server’s pin in VS Code; the agent’s MCP calls go through',
  { timeout: 240_000 },
  async () => {
    const page = session.vscode.page;
    const stage = stages(page, 'mcp-run');
    const lead = await openLead(session.vscode);
    await stage('planned', async () => {
      await lead.getByLabel('Spec', { exact: true }).fill('Use the env MCP server.');
      await button(lead, 'Plan').click();
      await waitForPhase(lead, 'plan', 60_000);
    });
    const box = page.locator('.quick-input-widget');
    await stage('input-asked', async () => {
      await button(lead, 'Run').click();
      await box.locator('input').waitFor({ state: 'visible', timeout: 60_000 });
      assert.match(await box.innerText(), new RegExp(DESCRIPTION));
      assert.match(await box.innerText(), /envsrv/);
      assert.equal(await box.locator('input').getAttribute('type'), 'password', 'the input is hidden as typed');
      await box.locator('input').fill(TOKEN);
    });
    await stage('pick-asked', async () => {
      await box.locator('input').press('Enter');
      const rows = box.locator('.monaco-list-row');
      await rows.first().waitFor({ state: 'visible', timeout: 30_000 });
      assert.match(await box.innerText(), /MCP server "envsrv" needs \$\{input:region\}/);
      assert.equal(await box.locator('input').getAttribute('placeholder'), 'Region of the env server');
      assert.match(
        await rows.first().innerText(),
        /United States: us\s*\(Default\)/,
        'the default comes first, marked',
      );
      assert.equal(await rows.count(), 2);
    });
    const toast = page.locator('.notification-toast').filter({ hasText: 'wants to use MCP server "envsrv"' });
    await stage('pin-asked', async () => {
      await box.locator('.monaco-list-row', { hasText: 'eu' }).click();
      await toast.waitFor({ state: 'visible', timeout: 90_000 });
      const text = (await toast.innerText()).replace(/\s+/g, ' ');
      assert.match(text, /This run wants to use MCP server "envsrv" from .*mcp\.json .*, 2 tools: digest, echo\./);
      assert.match(text, /is new: its tools are offered to agents only once you approve them\./);
    });
    // The same question waits on the board, above the rows (it is no task's), with every tool's description.
    const strip = lead.getByRole('group', { name: 'Waiting for your approval' });
    await stage('pin-in-panel', async () => {
      await strip.waitFor({ state: 'visible', timeout: 30_000 });
      const text = await strip.innerText();
      assert.match(text, /This run waits for your approval/);
      assert.match(text, /mcp-server envsrv [0-9a-f]{12}/);
      assert.match(text, /digest: The SHA-256 of an environment variable of this server\./);
      assert.match(text, /Rule mcp-pin-new/);
    });
    await stage('completed', async () => {
      assert.equal(await button(strip, 'Allow for this run').count(), 0, 'a pin has one yes, kept for good');
      await button(strip, 'Approve').click();
      await strip.waitFor({ state: 'hidden', timeout: 30_000 });
      await waitForRun(lead, ['completed']);
    });

    const results = toolResults();
    const digest = createHash('sha256').update(TOKEN).digest('hex');
    assert.ok(
      results.some((t) => t.includes(`sha256 of ENV_TOKEN: ${digest}`)),
      `the server got the answer in its environment; the results: ${results.join(' | ')}`,
    );
    const region = createHash('sha256').update('eu').digest('hex');
    assert.ok(
      results.some((t) => t.includes(`sha256 of ENV_REGION: ${region}`)),
      'the picked region reached the server',
    );
    assert.ok(
      results.some((t) => t.includes('echo: hello from the panel')),
      'the echo reached the model',
    );

    const state = join(session.sample.repo, '.git', 'foreman');
    const pins = JSON.parse(readFileSync(join(state, 'mcp-pins.json'), 'utf8')) as {
      servers: Record<string, { tools: string[] }>;
    };
    assert.deepEqual(pins.servers.envsrv?.tools, ['digest', 'echo'], 'the approved pin is kept');
    const [runId] = await listRunIds(state);
    const { events } = await readJournal(runJournalPath(state, runId));
    const mcp = events.flatMap((e: JournalEvent) => (e.type === 'mcp' ? [[e.server, e.status, e.by]] : []));
    assert.deepEqual(mcp, [['envsrv', 'approved', 'user']]);
    const calls = events.flatMap((e: JournalEvent) => (e.type === 'tool_call' ? [[e.tool, e.ok]] : []));
    assert.deepEqual(calls.slice(0, 3), [
      ['mcp__envsrv__digest', true],
      ['mcp__envsrv__digest', true],
      ['mcp__envsrv__echo', true],
    ]);

    // The journal, transcripts, pins, logs and settings never hold the token.
    const user = session.vscode.userDataDir;
    for (const dir of [state, join(user, 'logs'), join(session.sample.repo, '.vscode')])
      assert.deepEqual(filesHolding(dir, TOKEN), [], `no file under ${dir} holds the token`);
    assert.doesNotMatch(readFileSync(join(user, 'User', 'settings.json'), 'utf8'), new RegExp(TOKEN));
  },
);

test('the next run asks nothing: the kept answer and the approved pin are used', { timeout: 180_000 }, async () => {
  const page = session.vscode.page;
  const stage = stages(page, 'mcp-rerun');
  const lead = await openLead(session.vscode);
  const before = session.server.requests.length;
  await stage('planned', async () => {
    await button(lead, 'New spec').click();
    await waitForPhase(lead, 'compose');
    await lead.getByLabel('Spec', { exact: true }).fill('Use the env MCP server again.');
    await button(lead, 'Plan').click();
    await waitForPhase(lead, 'plan', 60_000);
  });
  // An input box or a pin question would hold the run: it completes only if nothing is asked.
  await stage('completed', async () => {
    await button(lead, 'Run').click();
    await waitForRun(lead, ['completed']);
  });
  assert.equal(await page.locator('.quick-input-widget').isVisible(), false, 'no input box is open');
  const digest = createHash('sha256').update(TOKEN).digest('hex');
  assert.ok(
    toolResults(before).some((t) => t.includes(`sha256 of ENV_TOKEN: ${digest}`)),
    'the server got the kept answer again',
  );
  const region = createHash('sha256').update('eu').digest('hex');
  assert.ok(
    toolResults(before).some((t) => t.includes(`sha256 of ENV_REGION: ${region}`)),
    'and the kept pick',
  );
  const state = join(session.sample.repo, '.git', 'foreman');
  const [runId] = await listRunIds(state);
  const { events } = await readJournal(runJournalPath(state, runId));
  assert.deepEqual(
    events.flatMap((e: JournalEvent) => (e.type === 'mcp' ? [[e.server, e.status]] : [])),
    [['envsrv', 'pinned']],
  );
});

/** The tool results the scripted model was sent in its requests from the `from`th on. */
function toolResults(from = 0): string[] {
  return session.server.requests
    .slice(from)
    .flatMap((r) => r.body.messages)
    .filter((m) => m.role === 'tool')
    .map(contentText);
}

/** The files under `dir` whose text holds `needle` (files over 5 MB are skipped). */
function filesHolding(dir: string, needle: string): string[] {
  const found: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) found.push(...filesHolding(path, needle));
    else if (e.isFile() && statSync(path).size < 5_000_000 && readFileSync(path, 'latin1').includes(needle))
      found.push(path);
  }
  return found;
}
