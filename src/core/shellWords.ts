/**
 * A small shell lexer for the command policy: splits a command line into simple commands of
 * unquoted words, looking into command substitutions. It reads what a shell would run; it is not
 * a shell, and it never runs anything.
 */

/** How deep substitutions and nested `sh -c` scripts are followed. */
export const MAX_DEPTH = 16;

/** Lexer state for one shell text. */
interface Lexer {
  src: string;
  i: number;
  depth: number;
  commands: string[][];
  words: string[];
  word: string;
  inWord: boolean;
  /** The next word is a redirection target, not an argument. */
  skipNext: boolean;
  heredocs: string[];
}

/**
 * Split a shell text into simple commands, each a list of unquoted words. Command substitutions
 * (`$(…)`, backticks, `<(…)`) are split recursively and appended as commands of their own.
 */
export function splitCommands(src: string, depth: number): string[][] {
  const lx: Lexer = {
    src,
    i: 0,
    depth,
    commands: [],
    words: [],
    word: '',
    inWord: false,
    skipNext: false,
    heredocs: [],
  };
  if (depth > MAX_DEPTH) return [];
  while (lx.i < src.length) step(lx);
  endCommand(lx);
  return lx.commands;
}

function endWord(lx: Lexer): void {
  if (lx.inWord) {
    if (lx.skipNext) lx.skipNext = false;
    else lx.words.push(lx.word);
  }
  lx.word = '';
  lx.inWord = false;
}

function endCommand(lx: Lexer): void {
  endWord(lx);
  lx.skipNext = false;
  if (lx.words.length) lx.commands.push(lx.words);
  lx.words = [];
}

function nested(lx: Lexer, inner: string): void {
  lx.commands.push(...splitCommands(inner, lx.depth + 1));
  lx.inWord = true;
}

function step(lx: Lexer): void {
  const { src } = lx;
  const c = src[lx.i];
  if (c === '\\') {
    if (src[lx.i + 1] !== '\n') lx.word += src[lx.i + 1] ?? '';
    lx.inWord = lx.inWord || src[lx.i + 1] !== '\n';
    lx.i += 2;
  } else if (c === "'") {
    const end = indexOrEnd(src, "'", lx.i + 1);
    lx.word += src.slice(lx.i + 1, end);
    lx.inWord = true;
    lx.i = end + 1;
  } else if (c === '"') {
    readDoubleQuoted(lx);
  } else if (c === '`' || (c === '$' && src[lx.i + 1] === '(') || ((c === '<' || c === '>') && src[lx.i + 1] === '(')) {
    readSubstitution(lx);
  } else if (c === '#' && !lx.inWord) {
    lx.i = indexOrEnd(src, '\n', lx.i);
  } else if (c === ' ' || c === '\t' || c === '\r') {
    endWord(lx);
    lx.i++;
  } else if (c === '<' || c === '>' || (c === '&' && src[lx.i + 1] === '>')) {
    readRedirection(lx);
  } else if ('\n;&|()'.includes(c)) {
    endCommand(lx);
    lx.i++;
    if (c === '\n') skipHeredocs(lx);
  } else {
    lx.word += c;
    lx.inWord = true;
    lx.i++;
  }
}

function indexOrEnd(src: string, needle: string, from: number): number {
  const at = src.indexOf(needle, from);
  return at < 0 ? src.length : at;
}

/** A "…" string: literal text, except `\` escapes and the substitutions inside it. */
function readDoubleQuoted(lx: Lexer): void {
  const { src } = lx;
  lx.i++;
  lx.inWord = true;
  while (lx.i < src.length && src[lx.i] !== '"') {
    const c = src[lx.i];
    if (c === '\\') {
      lx.word += src[lx.i + 1] ?? '';
      lx.i += 2;
    } else if (c === '`' || (c === '$' && src[lx.i + 1] === '(')) {
      readSubstitution(lx);
    } else {
      lx.word += c;
      lx.i++;
    }
  }
  lx.i++;
}

/** `…`, $(…), $((…)), <(…) or >(…): split the inside as commands of its own (arithmetic skipped). */
function readSubstitution(lx: Lexer): void {
  const { src } = lx;
  if (src[lx.i] === '`') {
    let end = lx.i + 1;
    while (end < src.length && src[end] !== '`') end += src[end] === '\\' ? 2 : 1;
    nested(lx, src.slice(lx.i + 1, end));
    lx.i = end + 1;
    return;
  }
  const open = lx.i + 1;
  const close = matchingParen(src, open);
  const arithmetic = src[open + 1] === '(';
  if (!arithmetic) nested(lx, src.slice(open + 1, close));
  lx.inWord = true;
  lx.i = close + 1;
}

/** Index of the `)` that closes the `(` at `open`, skipping quotes; the text's end if none. */
function matchingParen(src: string, open: number): number {
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') i++;
    else if (c === "'") i = indexOrEnd(src, "'", i + 1);
    else if (c === '"') {
      for (i++; i < src.length && src[i] !== '"'; i++) if (src[i] === '\\') i++;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return src.length;
}

/** `>`, `>>`, `2>&1`, `&>`, `<`, `<<EOF`, `<<<`: drop the operator and its target word. */
function readRedirection(lx: Lexer): void {
  if (/^\d+$/.test(lx.word) && lx.inWord) {
    lx.word = '';
    lx.inWord = false;
  } else {
    endWord(lx);
  }
  const op = /^(&>>?|<<<|<<-?|<>|>>|>&|<&|>\||<|>)/.exec(lx.src.slice(lx.i))?.[0] ?? lx.src[lx.i];
  lx.i += op.length;
  if (op === '<<' || op === '<<-') {
    const m = /^[ \t]*(['"]?)([^\s;&|<>()'"]+)\1/.exec(lx.src.slice(lx.i));
    if (m) {
      lx.heredocs.push(m[2]);
      lx.i += m[0].length;
      return;
    }
  }
  lx.skipNext = true;
}

/** After a newline, skip the bodies of pending here-documents (they are data, not commands). */
function skipHeredocs(lx: Lexer): void {
  while (lx.heredocs.length) {
    const delimiter = lx.heredocs.shift() as string;
    for (;;) {
      const end = indexOrEnd(lx.src, '\n', lx.i);
      const line = lx.src.slice(lx.i, end);
      lx.i = Math.min(end + 1, lx.src.length);
      if (line.trim() === delimiter || end >= lx.src.length) break;
    }
  }
}
