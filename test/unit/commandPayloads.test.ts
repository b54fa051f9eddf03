/**
 * Known ways past command policies, and everyday commands that must pass without a prompt, each
 * through the real parser (tree-sitter-bash) and the policy with its defaults. The table is
 * test/fixtures/commandPayloads.ts; an entry is the line and `decision rule-id`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMAND_CATEGORIES, DEFAULT_POLICY, judgeCommand } from '../../src/core/commandPolicy';
import { createBashParser } from '../../src/infra/bashParser';
import { DYNAMIC, FROM_INPUT, TABLE } from '../fixtures/commandPayloads';

const parser = createBashParser();
const ROOT = '/work/repo';

test('the table holds at least 120 payloads, none twice', () => {
  assert.ok(TABLE.length >= 120, `${TABLE.length} payloads`);
  assert.equal(new Set(TABLE.map(([line]) => line)).size, TABLE.length);
});

test('every payload gets its decision and rule from the real parser and the default policy', async () => {
  const wrong: string[] = [];
  for (const [line, expected] of TABLE) {
    const v = await judgeCommand(line, { policy: DEFAULT_POLICY, parser, root: ROOT });
    const got = `${v.decision} ${v.rule.id}`;
    if (got !== expected) wrong.push(`${JSON.stringify(line)}: expected ${expected}, got ${got} (${v.command})`);
  }
  assert.deepEqual(wrong, []);
});

test('nothing dynamic is ever allowed, whatever categories the user allows', async () => {
  const policy = { ...DEFAULT_POLICY, allow: [...COMMAND_CATEGORIES] };
  for (const [line] of [...DYNAMIC, ...FROM_INPUT]) {
    const v = await judgeCommand(line, { policy, parser, root: ROOT });
    assert.notEqual(v.decision, 'allow', line);
  }
});
