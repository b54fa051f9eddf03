/**
 * Words of a tree-sitter-bash tree as the shell will pass them: quotes removed, escapes and
 * `$'…'` strings decoded, and anything only known at run time marked as such (value null).
 */
import type { Node } from 'web-tree-sitter';
import type { ShellWord } from '../core/shellSyntax';

/** A part of a word: its value (null when only known at run time) and whether it globs. */
interface Part {
  value: string | null;
  glob: boolean;
}

const DYNAMIC: Part = { value: null, glob: false };

/** Node types whose text is the value as it stands. */
const PLAIN = new Set(['number', 'test_operator', 'regex', 'variable_name', 'file_descriptor']);

/** The word a node stands for. */
export function wordOf(node: Node): ShellWord {
  const part = partOf(node);
  return { source: node.text, value: part.value, glob: part.glob };
}

function partOf(node: Node): Part {
  switch (node.type) {
    case 'word':
      return bareWord(node.text);
    case 'raw_string':
      return { value: node.text.slice(1, -1), glob: false };
    case 'ansi_c_string':
      return { value: decodeAnsiC(node.text.slice(2, -1)), glob: false };
    case 'string':
      return doubleQuoted(node);
    case 'translated_string': {
      const inner = node.namedChildren.find((c) => c?.type === 'string');
      return inner ? doubleQuoted(inner) : DYNAMIC;
    }
    case 'concatenation':
      return concatenation(node);
    default:
      // Expansions, substitutions, arithmetic, brace expressions, arrays, and anything this
      // adapter does not know: the value is only known when the command runs.
      return PLAIN.has(node.type) ? { value: node.text, glob: false } : DYNAMIC;
  }
}

/** An unquoted word: backslash-newline is dropped, `\c` is `c`; a brace expansion is dynamic. */
function bareWord(raw: string): Part {
  const shape = raw.replace(/\\./gs, '_');
  if (hasBraceExpansion(shape)) return DYNAMIC;
  return { value: raw.replace(/\\\n/g, '').replace(/\\(.)/gs, '$1'), glob: hasGlob(shape) };
}

/** Unquoted `*`, `?` or a `[…]` class (a lone `[`, as in `[ -f x ]`, is not a pattern). */
function hasGlob(shape: string): boolean {
  return /[*?]|\[[^\]]+\]/.test(shape);
}

/** `{a,b}` or `{1..3}` outside quotes: bash turns it into several words. */
function hasBraceExpansion(shape: string): boolean {
  return /\{[^{}]*(,|\.\.)[^{}]*\}/.test(shape);
}

/** "…": the text with `\$`, `` \` ``, `\"`, `\\` and backslash-newline decoded; any expansion is dynamic. */
function doubleQuoted(node: Node): Part {
  let value = '';
  for (const child of node.children) {
    if (child === null || !child.isNamed) continue;
    if (child.type !== 'string_content') return DYNAMIC;
    value += child.text.replace(/\\\n/g, '').replace(/\\([$`"\\])/g, '$1');
  }
  return { value, glob: false };
}

/** Adjacent parts of one word (`r''m`, `"r"m`, `a${b}c`). */
function concatenation(node: Node): Part {
  let value = '';
  let glob = false;
  let shape = '';
  let dynamic = false;
  for (const child of node.children) {
    if (child === null) continue;
    // Only unquoted words can open or close a brace expansion; quoted parts stand in as `_`.
    shape += child.type === 'word' ? child.text.replace(/\\./gs, '_') : '_';
    const part = partOf(child);
    if (part.value === null) dynamic = true;
    else value += part.value;
    glob = glob || part.glob;
  }
  if (dynamic || hasBraceExpansion(shape)) return DYNAMIC;
  return { value, glob };
}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07',
  b: '\b',
  e: '\x1b',
  E: '\x1b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '?': '?',
};

/** The body of a `$'…'` string, decoded as bash does: `\xHH`, `\nnn`, `\uHHHH`, `\UHHHHHHHH`, `\cX`, `\n`… */
export function decodeAnsiC(body: string): string {
  return body.replace(
    /\\(x[0-9a-fA-F]{1,2}|[0-7]{1,3}|u[0-9a-fA-F]{1,4}|U[0-9a-fA-F]{1,8}|c.|.)/gs,
    (whole, esc: string) => {
      const head = esc[0];
      if (head === 'x') return String.fromCharCode(parseInt(esc.slice(1), 16));
      if (head === 'u' || head === 'U') {
        const code = parseInt(esc.slice(1), 16);
        return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
      }
      if (/[0-7]/.test(head)) return String.fromCharCode(parseInt(esc, 8) & 0xff);
      if (head === 'c') return String.fromCharCode(esc.charCodeAt(1) & 0x1f);
      return SIMPLE_ESCAPES[esc] ?? whole;
    },
  );
}
