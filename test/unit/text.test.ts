import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorDetail, errorMessage } from '../../src/core/errors';
import {
  hasUrlCredentials,
  visibleControls,
  visibleControlsKeepingColors,
  withoutUrlCredentials,
} from '../../src/core/text';

test('visibleControls shows control characters as pictures and keeps line feeds, tabs and the rest', () => {
  assert.equal(visibleControls('a\u0000b\u0007c\u001bd\u007fe'), 'a\u2400b\u2407c\u241bd\u2421e');
  assert.equal(visibleControls('line one\n\tline two — ünïcode ✓'), 'line one\n\tline two — ünïcode ✓');
  assert.equal(visibleControls('cr\r\nlf'), 'cr\u240d\nlf');
});

test("visibleControlsKeepingColors keeps git's colours and shows every other escape as text", () => {
  const colored = '\u001b[1mdiff --git a/x b/x\u001b[m\n\u001b[32m+ok\u001b[m\n\u001b[38;5;8mgrey\u001b[0m\n';
  assert.equal(visibleControlsKeepingColors(colored), colored);
  // A file's contents: a title change, a screen clear, a hyperlink, conceal, a carriage return.
  assert.equal(
    visibleControlsKeepingColors('+\u001b]0;pwned\u0007\u001b[2J\u001b]8;;http://x\u001b\\a\u001b[8mhidden\rz'),
    '+\u241b]0;pwned\u2407\u241b[2J\u241b]8;;http://x\u241b\\a\u241b[8mhidden\u240dz',
  );
});

test('withoutUrlCredentials takes user names and passwords out of every URL in a text', () => {
  assert.equal(
    withoutUrlCredentials(
      'Request cannot be constructed from a URL that includes credentials: http://u:p%40ss@gpu:8000/v1/models',
    ),
    'Request cannot be constructed from a URL that includes credentials: http://gpu:8000/v1/models',
  );
  assert.equal(withoutUrlCredentials('a https://token@host/x and http://h:1/y'), 'a https://host/x and http://h:1/y');
  assert.equal(
    withoutUrlCredentials('mail me@example.com at http://host/a@b'),
    'mail me@example.com at http://host/a@b',
  );
  assert.ok(hasUrlCredentials('http://user:pw@localhost:8000/v1'));
  assert.ok(!hasUrlCredentials('http://localhost:8000/v1'));
});

test('errorMessage and errorDetail: the message, the stack for logs, anything else as a string', () => {
  const e = new Error('it broke');
  assert.equal(errorMessage(e), 'it broke');
  assert.match(errorDetail(e), /^Error: it broke\n\s+at /);
  assert.equal(errorMessage('plain'), 'plain');
  assert.equal(errorDetail(42), '42');
});
