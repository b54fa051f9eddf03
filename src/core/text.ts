/**
 * Model text is untrusted bytes. Where it becomes part of something with stricter rules than a
 * JSON string (a process argument, a commit message, a terminal line), control characters are
 * shown as their Unicode control pictures instead: NUL becomes U+2400 (␀), DEL U+2421 (␡).
 * Line feeds and tabs are kept.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;

/** `text` with every control character but line feed and tab replaced by its control picture. */
export function visibleControls(text: string): string {
  return text.replace(CONTROL, (c) => String.fromCharCode(c === '\u007f' ? 0x2421 : 0x2400 + c.charCodeAt(0)));
}

/** `text` with the user name and password taken out of every URL in it (`http://u:p@host` → `http://host`). */
export function withoutUrlCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@]*@/gi, '$1');
}

/** Whether a URL carries a user name or password. */
export function hasUrlCredentials(url: string): boolean {
  return withoutUrlCredentials(url) !== url;
}

/**
 * `text` for a terminal with its colours kept: like `visibleControls`, except that escape
 * sequences that only set colours and styles (SGR, `ESC [ … m`, as `git diff --color` writes them)
 * stay. Any other escape (cursor movement, titles, hyperlinks, clearing the screen), and SGR's
 * "conceal", is shown as text, so a file's contents cannot drive the terminal or hide a line.
 */
export function visibleControlsKeepingColors(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex -- splitting at escape sequences is the point
      .split(/(\u001b\[[0-9;]*m)/)
      .map((part, i) => (i % 2 === 1 && !conceals(part) ? part : visibleControls(part)))
      .join('')
  );
}

/** Whether an SGR sequence turns on "conceal" (8), outside an extended colour (38;5;8 is a colour). */
function conceals(sgr: string): boolean {
  const params = sgr.slice(2, -1).split(';');
  return params.includes('8') && !params.includes('38') && !params.includes('48');
}
