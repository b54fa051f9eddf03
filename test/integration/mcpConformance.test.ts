/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance) against Foreman's MCP
 * client: its client scenarios `initialize` and `tools_call`, each running scripts/mcpClientCheck.ts
 * (Foreman's own client code) against the suite's test server. A failed check fails the test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from './runHarness';

const SUITE = join(PROJECT_ROOT, 'node_modules', '.bin', 'conformance');
const CLIENT = `node --import tsx ${join(PROJECT_ROOT, 'scripts', 'mcpClientCheck.ts')}`;

for (const scenario of ['initialize', 'tools_call']) {
  test(`conformance client scenario ${scenario}`, () => {
    const out = mkdtempSync(join(tmpdir(), 'foreman-conformance-'));
    try {
      const r = spawnSync(SUITE, ['client', '--command', CLIENT, '--scenario', scenario, '-o', out], {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
        timeout: 120_000,
      });
      const text = `${r.stdout}\n${r.stderr}`;
      assert.equal(r.status, 0, text);
      assert.match(text, /Passed: (\d+)\/\1, 0 failed/);
      assert.match(text, /OVERALL: PASSED/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
}
