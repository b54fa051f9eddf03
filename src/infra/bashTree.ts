/**
 * A tree-sitter-bash syntax tree turned into the policy's plain `ShellScript`: every simple
 * command wherever it sits, with its words, redirections and where its input comes from.
 */
import type { Node } from 'web-tree-sitter';
import type { ShellCommand, ShellInput, ShellRedirect, ShellScript } from '../core/shellSyntax';
import { wordOf } from './bashWords';

/** Parses text found inside a here-document (backticks tree-sitter leaves unparsed). */
export type Reparse = (source: string) => ShellScript;

/** Statement kinds whose commands do not carry on the input of an outer pipe or redirection. */
const INPUT_BOUNDARIES = new Set(['command_substitution', 'process_substitution', 'program']);
const REDIRECTS = new Set(['file_redirect', 'heredoc_redirect', 'herestring_redirect']);
const DECLARATIONS = new Set(['declaration_command', 'unset_command']);

/** The plain script of a parsed tree. `reparse` reads backticks inside unquoted here-documents. */
export function scriptOf(root: Node, reparse: Reparse): ShellScript {
  const found: { at: number; command: ShellCommand }[] = [];
  const error: string[] = [];
  visit(root, (node) => {
    if ((node.isError || node.isMissing) && error.length === 0) error.push(syntaxError(node));
    const command = commandOf(node);
    if (command) found.push({ at: node.startIndex, command });
    if (node.type === 'heredoc_body' && !quotedHeredoc(node)) {
      for (const inner of backticksIn(node)) {
        const script = reparse(inner.code);
        if (script.error && error.length === 0) error.push(script.error);
        for (const c of script.commands) found.push({ at: inner.at, command: c });
      }
    }
  });
  found.sort((a, b) => a.at - b.at);
  return { commands: found.map((f) => f.command), error: error[0] ?? null };
}

function visit(node: Node, each: (node: Node) => void): void {
  each(node);
  for (const child of node.children) if (child) visit(child, each);
}

function syntaxError(node: Node): string {
  const where = `line ${node.startPosition.row + 1}, column ${node.startPosition.column + 1}`;
  if (node.isMissing) return `a "${node.type}" is missing at ${where}`;
  const near = node.text.replace(/\s+/g, ' ').trim().slice(0, 30);
  return near ? `syntax error at ${where}, near "${near}"` : `syntax error at ${where}`;
}

/** The simple command a node is, if it is one. */
function commandOf(node: Node): ShellCommand | null {
  if (node.type === 'command') return simpleCommand(node);
  if (DECLARATIONS.has(node.type)) return declaration(node);
  if (node.type === 'variable_assignment' || node.type === 'variable_assignments') {
    const parent = node.parent?.type;
    if (parent === 'command' || parent === 'declaration_command' || parent === 'variable_assignments') return null;
    return { text: node.text, assignments: assignmentsIn(node), words: [], redirects: [], stdin: 'inherited' };
  }
  const owner = node.type === 'redirected_statement' ? redirectOwner(node) : null;
  if (node.type === 'redirected_statement' && owner?.type !== 'command') {
    const redirects = redirectsOf(node);
    return { text: ownedText(owner, node), assignments: [], words: [], redirects, stdin: inputOf(node, redirects) };
  }
  return null;
}

/**
 * What a redirected statement's redirections belong to. tree-sitter-bash hangs `a && b > f` and
 * `a | b > f` on the whole list or pipeline, but bash gives them to the last simple command (`b`);
 * a group (`{ …; } > f`, a loop, a subshell) keeps them.
 */
function redirectOwner(statement: Node): Node | null {
  let body = statement.childForFieldName('body');
  while (body && (body.type === 'list' || body.type === 'pipeline')) body = lastStatement(body);
  return body;
}

function lastStatement(node: Node): Node | null {
  const named = node.namedChildren.filter((c) => c !== null && c.type !== 'comment');
  return named[named.length - 1] ?? null;
}

/** The redirected statement whose redirections belong to this simple command, if any. */
function ownerStatement(command: Node): Node | null {
  let child = command;
  let parent = command.parent;
  while (parent && (parent.type === 'list' || parent.type === 'pipeline') && lastStatement(parent)?.id === child.id) {
    child = parent;
    parent = parent.parent;
  }
  return parent?.type === 'redirected_statement' && parent.childForFieldName('body')?.id === child.id ? parent : null;
}

function simpleCommand(node: Node): ShellCommand {
  const owner = ownerStatement(node);
  const redirects = [...redirectsOf(node), ...(owner ? redirectsOf(owner) : [])];
  const words = [];
  const name = node.childForFieldName('name');
  if (name) words.push(wordOf(name.namedChildren[0] ?? name));
  for (const arg of node.childrenForFieldName('argument')) if (arg) words.push(wordOf(arg));
  return {
    text: ownedText(node, owner),
    assignments: assignmentsIn(node),
    words,
    redirects,
    stdin: inputOf(node, redirects),
  };
}

/** A part's text with the redirections its statement gives it (`b 2>/dev/null` of `a && b 2>/dev/null`). */
function ownedText(part: Node | null, statement: Node | null): string {
  if (part === null) return statement?.text ?? '';
  if (statement === null) return part.text;
  const body = statement.childForFieldName('body');
  return part.text + statement.text.slice(body ? body.text.length : 0);
}

/** `export A=1 B`, `declare -x P=/x`, `local c`, `unset x`: the keyword and then each argument. */
function declaration(node: Node): ShellCommand {
  const words = [];
  for (const child of node.children) {
    if (child === null) continue;
    if (!child.isNamed) words.push({ source: child.text, value: child.text, glob: false });
    else if (child.type === 'variable_assignment') words.push(assignmentWord(child));
    else words.push(wordOf(child));
  }
  return { text: node.text, assignments: [], words, redirects: [], stdin: 'inherited' };
}

/** `NAME=value` as one argument word (its value null when the assigned value is dynamic). */
function assignmentWord(node: Node) {
  const name = node.childForFieldName('name')?.text ?? '';
  const valueNode = node.childForFieldName('value');
  const value = valueNode ? wordOf(valueNode).value : '';
  return { source: node.text, value: value === null ? null : `${name}=${value}`, glob: false };
}

function assignmentsIn(node: Node): ShellCommand['assignments'] {
  const nodes = node.type === 'variable_assignment' ? [node] : node.namedChildren;
  const out: ShellCommand['assignments'] = [];
  for (const child of nodes) {
    if (child?.type !== 'variable_assignment') continue;
    const valueNode = child.childForFieldName('value');
    const value = valueNode ? wordOf(valueNode) : { source: '', value: '', glob: false };
    out.push({ name: child.childForFieldName('name')?.text ?? '', value });
  }
  return out;
}

/** The redirections written directly on a node (a command or a redirected statement). */
function redirectsOf(node: Node): ShellRedirect[] {
  const out: ShellRedirect[] = [];
  for (const child of node.children) {
    if (child === null || !REDIRECTS.has(child.type)) continue;
    out.push(redirectOf(child));
    // A here-document's line may go on with more redirections (`<<EOF > out`).
    if (child.type === 'heredoc_redirect')
      for (const more of child.childrenForFieldName('redirect')) if (more) out.push(redirectOf(more));
  }
  return out;
}

function redirectOf(node: Node): ShellRedirect {
  const descriptor = node.childForFieldName('descriptor');
  const fd = descriptor ? Number(descriptor.text) : null;
  const op = node.children.find((c) => c !== null && !c.isNamed)?.text ?? '';
  if (node.type === 'heredoc_redirect') return { op, fd, target: null };
  if (node.type === 'herestring_redirect') {
    const text = node.namedChildren.find((c) => c !== null && c.type !== 'file_descriptor');
    return { op: '<<<', fd, target: text ? wordOf(text) : null };
  }
  const destination = node.childForFieldName('destination');
  return { op, fd, target: destination ? wordOf(destination) : null };
}

/** Where a command's (or group's) standard input comes from: its own redirections, then outward. */
function inputOf(node: Node, own: ShellRedirect[]): ShellInput {
  const direct = inputFrom(own);
  if (direct) return direct;
  let child = node;
  for (let parent = node.parent; parent && !INPUT_BOUNDARIES.has(parent.type); parent = parent.parent) {
    if (parent.type === 'pipeline') {
      // Inside a here-document's line (`cat <<EOF | sh`) the pipe's first command sits outside.
      if (parent.parent?.type === 'heredoc_redirect' || parent.namedChildren[0]?.id !== child.id) return 'pipe';
    }
    if (parent.type === 'redirected_statement' && parent.childForFieldName('body')?.id === child.id) {
      // A group's redirection reaches the commands inside the group, and only those.
      const owner = redirectOwner(parent);
      const fromGroup =
        owner && owner.type !== 'command' && within(node, owner) ? inputFrom(redirectsOf(parent)) : null;
      if (fromGroup) return fromGroup;
    }
    child = parent;
  }
  return 'inherited';
}

function within(node: Node, ancestor: Node): boolean {
  for (let n: Node | null = node; n; n = n.parent) if (n.id === ancestor.id) return true;
  return false;
}

/** The input the last input redirection gives, or null when none redirects standard input. */
function inputFrom(redirects: ShellRedirect[]): ShellInput | null {
  let input: ShellInput | null = null;
  for (const r of redirects) {
    if (r.fd !== null && r.fd !== 0) continue;
    if (r.op === '<<' || r.op === '<<-' || r.op === '<<<') input = 'here';
    else if (r.op === '<' || r.op === '<>') input = r.target?.value == null ? 'pipe' : 'file';
    else if (r.op === '<&') input = 'pipe';
  }
  return input;
}

/** `<<'EOF'`, `<<"EOF"` and `<<\EOF` bodies are plain text; unquoted ones are expanded. */
function quotedHeredoc(body: Node): boolean {
  const start = body.parent?.children.find((c) => c?.type === 'heredoc_start');
  return start ? /['"\\]/.test(start.text) : false;
}

/**
 * The backtick substitutions in an unquoted here-document body. tree-sitter parses `$(…)` there but
 * leaves backticks as plain text, so the text outside its parsed children is scanned here.
 */
function backticksIn(body: Node): { at: number; code: string }[] {
  let text = body.text;
  for (const child of body.namedChildren) {
    if (child === null || child.type === 'heredoc_content') continue;
    const from = child.startIndex - body.startIndex;
    text = text.slice(0, from) + ' '.repeat(child.text.length) + text.slice(from + child.text.length);
  }
  const out: { at: number; code: string }[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') {
      i++;
    } else if (text[i] === '`') {
      let end = i + 1;
      while (end < text.length && text[end] !== '`') end += text[end] === '\\' ? 2 : 1;
      out.push({ at: body.startIndex + i, code: text.slice(i + 1, end).replace(/\\([$`\\])/g, '$1') });
      i = end;
    }
  }
  return out;
}
