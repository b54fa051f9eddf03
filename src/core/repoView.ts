/**
 * A compact, deterministic text view of a repository for prompts: its file tree, its README and
 * its conventions file. The same repository content always gives the same bytes, because this
 * text is part of the prompt prefix every agent shares (and a backend caches).
 */

/**
 * Read-only access to a repository's files (src/infra/repoReader.ts is the real one).
 * Contract: `listFiles` returns repository-relative posix paths of tracked and untracked,
 * not-ignored files, in any order; `readText` returns at most `maxBytes` bytes of a file inside
 * the repository decoded as UTF-8, or null when it is missing, not a regular file, outside the
 * repository, or binary.
 */
export interface RepoReader {
  listFiles(signal?: AbortSignal): Promise<string[]>;
  readText(path: string, maxBytes: number): Promise<string | null>;
}

/** Options of `buildRepoView`. */
export interface RepoViewOptions {
  /** Upper bound on the length of the whole view, in characters. Default 12000. */
  maxChars?: number;
  signal?: AbortSignal;
}

/** Conventions files, in order of preference; the first one present is shown. */
export const CONVENTIONS_FILES = ['AGENTS.md', 'CLAUDE.md', '.github/copilot-instructions.md', 'CONTRIBUTING.md'];

const README_RE = /^readme(\.(md|markdown|txt|rst|adoc))?$/i;
const TRUNCATED = '\n[… truncated]';
/** Share of the budget that the README and the conventions file may each take at most. */
const DOC_SHARE = 0.25;

/**
 * Build the repository view: the sorted file tree (deep directories collapsed into
 * `dir/ (N files)` lines when over budget), then the README (truncated), then the first
 * conventions file found (truncated). The result is at most `maxChars` characters.
 */
export async function buildRepoView(reader: RepoReader, opts?: RepoViewOptions): Promise<string> {
  const maxChars = opts?.maxChars ?? 12000;
  const files = [...new Set(await reader.listFiles(opts?.signal))].sort(compareCodePoints);
  opts?.signal?.throwIfAborted();
  const docBudget = Math.floor(maxChars * DOC_SHARE);
  const docs: string[] = [];
  const readme = files.find((f) => f === 'README.md') ?? files.find((f) => README_RE.test(f)) ?? null;
  if (readme) docs.push(await docSection(reader, readme, docBudget));
  for (const name of CONVENTIONS_FILES) {
    if (!files.includes(name)) continue;
    const section = await docSection(reader, name, docBudget);
    if (section === '') continue; // unreadable (binary or vanished): try the next candidate
    docs.push(section);
    break;
  }
  const docText = docs.filter((d) => d !== '').join('');
  const treeBudget = Math.max(0, maxChars - docText.length);
  return cut(treeSection(files, treeBudget) + docText, maxChars);
}

/** Compare by UTF-16 code units: independent of the machine's locale. */
function compareCodePoints(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function docSection(reader: RepoReader, name: string, budget: number): Promise<string> {
  const header = `\n## ${name}\n`;
  const room = budget - header.length;
  if (room <= TRUNCATED.length) return '';
  // Four bytes per character at most in UTF-8; one more character tells us whether we cut.
  const text = await reader.readText(name, (room + 1) * 4);
  if (text === null) return '';
  const body = text.replace(/\r\n?/g, '\n').trimEnd();
  return `${header}${cut(body, room)}\n`;
}

/** Cut `text` to `max` characters, at a line end when one is near, marking the cut. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const room = Math.max(0, max - TRUNCATED.length);
  let end = room;
  const lineEnd = text.lastIndexOf('\n', room);
  if (lineEnd > room * 0.8) end = lineEnd;
  return text.slice(0, end) + TRUNCATED.slice(0, max - end);
}

// ---------------------------------------------------------------------------------------------
// File tree

interface DirNode {
  dirs: Map<string, DirNode>;
  files: string[];
  /** Number of files in this directory and below. */
  count: number;
}

function buildTree(files: string[]): DirNode {
  const root: DirNode = { dirs: new Map(), files: [], count: 0 };
  for (const file of files) {
    const parts = file.split('/');
    let node = root;
    node.count++;
    for (const dir of parts.slice(0, -1)) {
      let child = node.dirs.get(dir);
      if (!child) {
        child = { dirs: new Map(), files: [], count: 0 };
        node.dirs.set(dir, child);
      }
      child.count++;
      node = child;
    }
    node.files.push(parts[parts.length - 1]);
  }
  return root;
}

function treeDepth(node: DirNode): number {
  let depth = 0;
  for (const child of node.dirs.values()) depth = Math.max(depth, 1 + treeDepth(child));
  return depth;
}

/**
 * Render the tree, directories first then files, each sorted, indented two spaces a level.
 * Directories at `collapseDepth` (0 = top level) or deeper are one `name/ (N files)` line.
 */
function renderTree(node: DirNode, collapseDepth: number, depth = 0, out: string[] = []): string[] {
  const indent = '  '.repeat(depth);
  for (const name of [...node.dirs.keys()].sort(compareCodePoints)) {
    const child = node.dirs.get(name) as DirNode;
    if (depth >= collapseDepth) {
      out.push(`${indent}${name}/ (${child.count} ${child.count === 1 ? 'file' : 'files'})`);
    } else {
      out.push(`${indent}${name}/`);
      renderTree(child, collapseDepth, depth + 1, out);
    }
  }
  for (const file of [...node.files].sort(compareCodePoints)) out.push(`${indent}${file}`);
  return out;
}

/** The tree section within `budget` characters, collapsing ever shallower directories to fit. */
function treeSection(files: string[], budget: number): string {
  const header = `## Files (${files.length})\n`;
  const tree = buildTree(files);
  for (let depth = treeDepth(tree); depth >= 0; depth--) {
    const text = header + renderTree(tree, depth).join('\n') + '\n';
    if (text.length <= budget) return text;
  }
  // Even the top level does not fit: keep what does, then say how much was left out.
  const lines = renderTree(tree, 0);
  let text = header;
  for (let i = 0; i < lines.length; i++) {
    const more = `… (${lines.length - i} more entries)\n`;
    if (text.length + lines[i].length + 1 + more.length > budget) return cut(text + more, budget);
    text += `${lines[i]}\n`;
  }
  return cut(text, budget);
}
