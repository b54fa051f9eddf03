import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { HostMessage, PanelState } from '../../src/protocol/panel';

// The sample states the webview preview (scripts/webview-preview.mjs) and its browser test render.
// They must stay valid as the protocol changes, or the screenshots show states the host never sends.
const dir = join(__dirname, '../fixtures/panel');

test('every panel fixture is a valid PanelState and a valid state/didChange', () => {
  const names = readdirSync(dir).filter((f) => f.endsWith('.json'));
  assert.ok(names.length >= 6);
  for (const name of names) {
    const state = JSON.parse(readFileSync(join(dir, name), 'utf8'));
    const parsed = PanelState.safeParse(state);
    assert.ok(parsed.success, `${name}: ${parsed.success ? '' : parsed.error.message}`);
    assert.ok(HostMessage.safeParse({ type: 'state/didChange', state }).success, name);
  }
});

test('the board fixture has 100 tasks in every working and finished status', () => {
  const state = PanelState.parse(JSON.parse(readFileSync(join(dir, 'board-100.json'), 'utf8')));
  assert.equal(state.run?.tasks.length, 100);
  const statuses = new Set(state.run?.tasks.map((t) => t.status));
  for (const s of [
    'queued',
    'setting_up',
    'working',
    'verifying',
    'verified',
    'merged',
    'failed',
    'blocked',
    'stopped',
  ])
    assert.ok(statuses.has(s as never), s);
  assert.equal(new Set(state.run?.tasks.map((t) => t.id)).size, 100, 'ids are unique');
});
