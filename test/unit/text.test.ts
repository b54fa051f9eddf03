import { test } from 'node:test';
import assert from 'node:assert/strict';
import { visibleControls } from '../../src/core/text';

test('visibleControls shows control characters as pictures and keeps line feeds, tabs and the rest', () => {
  assert.equal(visibleControls('a\u0000b\u0007c\u001bd\u007fe'), 'a\u2400b\u2407c\u241bd\u2421e');
  assert.equal(visibleControls('line one\n\tline two — ünïcode ✓'), 'line one\n\tline two — ünïcode ✓');
  assert.equal(visibleControls('cr\r\nlf'), 'cr\u240d\nlf');
});
