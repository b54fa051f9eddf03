/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance) against `foreman mcp --http
 * --no-token` as a real process on a temporary repository. Every server scenario the suite knows is
 * either run here or listed as not applying, with the reason, so a suite upgrade that adds one fails
 * this test until someone decides. A scenario passes only when every check it wrote to its results
 * directory (`-o`) is SUCCESS.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cleanEnv } from './tempRepo';
import { makeRepo, PROJECT_ROOT, spawnCli } from './runHarness';
import type { CliProcess, TempRepo } from './runHarness';
import { mcpUrl } from './mcpHarness';

const run = promisify(execFile);
const SUITE = join(PROJECT_ROOT, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');

/** Scenarios that test what Foreman's server does. */
const APPLICABLE = [
  'server-initialize',
  'ping',
  'tools-list',
  'logging-set-level',
  'resources-list',
  'resources-subscribe',
  'resources-unsubscribe',
  'dns-rebinding-protection',
  'server-sse-multiple-streams',
];

const FIXTURE_TOOL = "calls a fixture tool that only the suite's reference server has; Foreman's tools are its own";

/** Scenarios that do not apply to Foreman, and why (docs/architecture.md, "MCP server", says the same). */
const NOT_APPLICABLE: Record<string, string> = {
  'completion-complete': 'Foreman offers no prompts or completions (the capability is not declared)',
  'tools-call-simple-text': FIXTURE_TOOL,
  'tools-call-image': FIXTURE_TOOL,
  'tools-call-audio': FIXTURE_TOOL,
  'tools-call-embedded-resource': FIXTURE_TOOL,
  'tools-call-mixed-content': FIXTURE_TOOL,
  'tools-call-with-logging': FIXTURE_TOOL,
  'tools-call-error': FIXTURE_TOOL,
  'tools-call-with-progress': `${FIXTURE_TOOL} (progress is tested with Foreman's own tools in mcpServer.test.ts)`,
  'tools-call-sampling': `${FIXTURE_TOOL}; Foreman never asks the client to sample`,
  'tools-call-elicitation': `${FIXTURE_TOOL} (elicitation is tested with apply_run in mcpServer.test.ts)`,
  'json-schema-2020-12': FIXTURE_TOOL,
  'elicitation-sep1034-defaults': FIXTURE_TOOL,
  'elicitation-sep1330-enums': FIXTURE_TOOL,
  'server-sse-polling': `${FIXTURE_TOOL} (test_reconnection), and needs an event store for resumable streams, which Foreman does not keep`,
  'resources-read-text': "reads the fixture resource test://static-text; Foreman's resources are its runs",
  'resources-read-binary': 'reads the fixture resource test://static-binary; Foreman serves no binary resources',
  'resources-templates-read':
    "reads the fixture template test://template/{id}/data; Foreman's template is foreman://runs/{runId}",
  'prompts-list': 'Foreman offers no prompts (the capability is not declared)',
  'prompts-get-simple': 'Foreman offers no prompts',
  'prompts-get-with-args': 'Foreman offers no prompts',
  'prompts-get-embedded-resource': 'Foreman offers no prompts',
  'prompts-get-with-image': 'Foreman offers no prompts',
};

interface Check {
  id: string;
  status: string;
  errorMessage?: string;
}

let repo: TempRepo;
let foreman: CliProcess;
let url: string;
let results: string;

before(async () => {
  repo = makeRepo();
  results = mkdtempSync(join(tmpdir(), 'foreman-conformance-'));
  foreman = spawnCli(['mcp', '--http', '--port', '0', '--no-token'], { repo, timeoutMs: 300_000 });
  url = await mcpUrl(foreman);
});

after(async () => {
  foreman?.child.kill('SIGTERM');
  await foreman?.result;
  repo?.cleanup();
  if (results) rmSync(results, { recursive: true, force: true });
});

test('every server scenario of the suite is run or said not to apply', async () => {
  const { stdout } = await run(process.execPath, [SUITE, 'list'], { env: cleanEnv() });
  const server = stdout.slice(stdout.indexOf('Server scenarios'), stdout.indexOf('Client scenarios'));
  const known = [...server.matchAll(/^\s+- (\S+)$/gm)].map((m) => m[1]);
  assert.ok(known.length > 20, `the suite lists its server scenarios:\n${stdout}`);
  const unclassified = known.filter((s) => !APPLICABLE.includes(s) && !(s in NOT_APPLICABLE));
  assert.deepEqual(unclassified, [], 'new scenarios: run them or say why they do not apply');
});

for (const scenario of APPLICABLE) {
  test(`conformance: ${scenario}`, async () => {
    const out = join(results, scenario);
    const { stdout, stderr } = await run(
      process.execPath,
      [SUITE, 'server', '--url', url, '--scenario', scenario, '-o', out],
      { env: cleanEnv(), timeout: 120_000 },
    ).catch((e: { stdout?: string; stderr?: string }) => ({ stdout: e.stdout ?? '', stderr: e.stderr ?? '' }));
    const checks = readdirSync(out).flatMap(
      (dir) => JSON.parse(readFileSync(join(out, dir, 'checks.json'), 'utf8')) as Check[],
    );
    assert.ok(checks.length > 0, `the scenario wrote its checks:\n${stdout}\n${stderr}`);
    const bad = checks.filter((c) => c.status !== 'SUCCESS');
    assert.deepEqual(
      bad.map((c) => `${c.id}: ${c.status} ${c.errorMessage ?? ''}`),
      [],
      `every check of ${scenario} succeeds`,
    );
  });
}
