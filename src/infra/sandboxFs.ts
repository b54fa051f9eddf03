/**
 * The Node implementation of the `WorktreeFs` port: file access confined to one worktree. Every
 * path is resolved to its real path (symlinks followed for the file and each parent) and refused
 * when that lies outside the root; writes refuse `.git` and never follow a symlink at the last step.
 */
import { constants } from 'node:fs';
import { lstat, mkdir, open, readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { FsRefusal, FsResult, WorktreeFs } from '../core/ports';

const DEFAULT_MAX_READ_BYTES = 512 * 1024;
/** Files larger than this are never loaded, even for a line range. */
const HARD_READ_LIMIT = 32 * 1024 * 1024;
const DEFAULT_MAX_RESULTS = 100;
const MAX_SEARCHED_FILES = 20_000;
const MAX_MATCH_TEXT = 300;
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);

/** Options for `createWorktreeFs`. */
export interface WorktreeFsOptions {
  /** Files larger than this are refused (`too_large`) unless a line range is asked. Default 512 KiB. */
  maxReadBytes?: number;
}

/** A path that passed the confinement check: `real` is the path to operate on. */
interface Resolved {
  ok: true;
  real: string;
  /** Path relative to the root, with `/` separators ('' for the root itself). */
  rel: string;
}

function refuse(reason: FsRefusal['reason'], message: string): FsRefusal {
  return { ok: false, reason, message };
}

/**
 * Create a `WorktreeFs` rooted at `root` (realpath'd once, here). Rejects when the root does not
 * exist. Refusals are values (`{ ok: false, reason, message }`); I/O errors that no path check can
 * foresee (disk full, permissions) are mapped to refusals with the system's message.
 */
export async function createWorktreeFs(root: string, options: WorktreeFsOptions = {}): Promise<WorktreeFs> {
  const realRoot = await realpath(root);
  const maxReadBytes = options.maxReadBytes ?? DEFAULT_MAX_READ_BYTES;
  const resolve = (p: string): Promise<Resolved | FsRefusal> => resolveInside(realRoot, p);
  return {
    root: realRoot,
    readFile: (p, opts) => guard(() => readText(resolve, p, maxReadBytes, opts ?? {})),
    listDir: (p) => guard(() => listDirectory(resolve, p)),
    search: (pattern, opts) => guard(() => searchTree(realRoot, resolve, pattern, maxReadBytes, opts ?? {})),
    writeFile: (p, content) => guard(() => writeText(realRoot, resolve, p, content)),
  };
}

/** Turn an unforeseen I/O error into a refusal the caller can show. */
async function guard<T>(fn: () => Promise<FsResult<T>>): Promise<FsResult<T>> {
  try {
    return await fn();
  } catch (e) {
    return fromError(e);
  }
}

function fromError(e: unknown): FsRefusal {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const msg = e instanceof Error ? e.message : String(e);
  if (code === 'ENOENT') return refuse('not_found', msg);
  if (code === 'ENOTDIR') return refuse('not_a_directory', msg);
  if (code === 'EISDIR') return refuse('not_a_file', msg);
  if (code === 'ELOOP') return refuse('outside', `refused to follow a symbolic link: ${msg}`);
  return refuse('invalid', msg);
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
}

function toRel(root: string, real: string): string {
  return path.relative(root, real).split(path.sep).join('/');
}

/**
 * Resolve `p` (relative to the root, or absolute) to a real path: the deepest existing ancestor is
 * realpath'd and the missing rest appended. A dangling symlink on the way is refused, since its
 * target could be created outside later.
 */
async function resolveInside(root: string, p: string): Promise<Resolved | FsRefusal> {
  if (typeof p !== 'string' || p.includes('\0')) return refuse('invalid', 'the path must be a string without NUL bytes');
  const wanted = path.resolve(root, p === '' ? '.' : p);
  const missing: string[] = [];
  let current = wanted;
  for (;;) {
    try {
      const real = path.join(await realpath(current), ...missing);
      if (!isInside(root, real)) {
        return refuse('outside', `'${p}' resolves outside the worktree (${root}); only paths inside it can be used`);
      }
      return { ok: true, real, rel: toRel(root, real) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      if (await isLink(current)) {
        return refuse('outside', `'${p}' goes through a symbolic link whose target does not exist; refused`);
      }
      const parent = path.dirname(current);
      if (parent === current) throw e;
      missing.unshift(path.basename(current));
      current = parent;
    }
  }
}

async function isLink(p: string): Promise<boolean> {
  try {
    return (await lstat(p)).isSymbolicLink();
  } catch {
    // Not there at all: not a link.
    return false;
  }
}

type Resolver = (p: string) => Promise<Resolved | FsRefusal>;

async function readText(
  resolve: Resolver,
  p: string,
  maxReadBytes: number,
  opts: { startLine?: number; endLine?: number },
): Promise<FsResult<{ text: string; totalLines: number }>> {
  const r = await resolve(p);
  if (!r.ok) return r;
  const s = await stat(r.real);
  if (!s.isFile()) return refuse('not_a_file', `'${p}' is not a regular file`);
  const ranged = opts.startLine !== undefined || opts.endLine !== undefined;
  if (s.size > HARD_READ_LIMIT || (!ranged && s.size > maxReadBytes)) {
    return refuse('too_large', `'${p}' is ${s.size} bytes, over the ${maxReadBytes}-byte limit; read it in parts with a line range`);
  }
  const buf = await readNoFollow(r.real);
  if (buf.subarray(0, 8192).includes(0)) return refuse('not_a_file', `'${p}' is a binary file (${buf.length} bytes)`);
  const text = buf.toString('utf8');
  return ranged ? sliceLines(p, text, opts) : { ok: true, text, totalLines: countLines(text) };
}

async function readNoFollow(real: string): Promise<Buffer> {
  const handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

function countLines(text: string): number {
  if (text === '') return 0;
  const n = text.split('\n').length;
  return text.endsWith('\n') ? n - 1 : n;
}

/** Lines `startLine..endLine`, 1-based and inclusive, clamped to the end of the file. */
function sliceLines(p: string, text: string, opts: { startLine?: number; endLine?: number }): FsResult<{ text: string; totalLines: number }> {
  const totalLines = countLines(text);
  const start = opts.startLine ?? 1;
  const end = Math.min(opts.endLine ?? totalLines, totalLines);
  if (!Number.isInteger(start) || start < 1 || (opts.endLine !== undefined && (!Number.isInteger(opts.endLine) || opts.endLine < start))) {
    return refuse('invalid', `invalid line range ${start}-${opts.endLine ?? 'end'}: lines are 1-based and the end must not be before the start`);
  }
  if (start > totalLines) {
    return refuse('invalid', `'${p}' has ${totalLines} lines; start line ${start} is past the end`);
  }
  const lines = text.split('\n').slice(start - 1, end);
  const lastHasNewline = end < totalLines || text.endsWith('\n');
  return { ok: true, text: lines.join('\n') + (lastHasNewline ? '\n' : ''), totalLines };
}

async function listDirectory(resolve: Resolver, p: string): Promise<FsResult<{ entries: { name: string; type: 'file' | 'dir' | 'link' }[] }>> {
  const r = await resolve(p === '' ? '.' : p);
  if (!r.ok) return r;
  const s = await stat(r.real);
  if (!s.isDirectory()) return refuse('not_a_directory', `'${p}' is not a directory`);
  const dirents = await readdir(r.real, { withFileTypes: true });
  const entries = dirents
    .map((d) => ({ name: d.name, type: d.isSymbolicLink() ? ('link' as const) : d.isDirectory() ? ('dir' as const) : ('file' as const) }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { ok: true, entries };
}

type Match = { path: string; line: number; text: string };

async function searchTree(
  root: string,
  resolve: Resolver,
  pattern: string,
  maxReadBytes: number,
  opts: { path?: string; regex?: boolean; maxResults?: number },
): Promise<FsResult<{ matches: Match[]; truncated: boolean }>> {
  if (pattern === '') return refuse('invalid', 'the search pattern is empty');
  const matcher = makeMatcher(pattern, opts.regex === true);
  if (typeof matcher === 'string') return refuse('invalid', matcher);
  const r = await resolve(opts.path ?? '.');
  if (!r.ok) return r;
  const files = await collectFiles(r.real);
  const max = opts.maxResults ?? DEFAULT_MAX_RESULTS;
  const matches: Match[] = [];
  for (const file of files.paths) {
    const found = await searchFile(file, matcher, maxReadBytes);
    for (const m of found) {
      if (matches.length >= max) return { ok: true, matches, truncated: true };
      matches.push({ path: toRel(root, file), ...m });
    }
  }
  return { ok: true, matches, truncated: files.truncated };
}

function makeMatcher(pattern: string, regex: boolean): ((line: string) => boolean) | string {
  if (!regex) return (line) => line.includes(pattern);
  try {
    const re = new RegExp(pattern);
    return (line) => re.test(line);
  } catch (e) {
    return `invalid regular expression: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/** Regular files under `start` (or `start` itself), sorted, not following links, skipping .git and node_modules. */
async function collectFiles(start: string): Promise<{ paths: string[]; truncated: boolean }> {
  const s = await stat(start);
  if (s.isFile()) return { paths: [start], truncated: false };
  const paths: string[] = [];
  const stack = [start];
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    const dirents = await readdir(dir, { withFileTypes: true });
    dirents.sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
    for (const d of dirents) {
      const full = path.join(dir, d.name);
      if (d.isDirectory() && !SKIPPED_DIRS.has(d.name)) stack.push(full);
      else if (d.isFile()) paths.push(full);
      if (paths.length >= MAX_SEARCHED_FILES) return { paths: paths.sort(), truncated: true };
    }
  }
  return { paths: paths.sort(), truncated: false };
}

async function searchFile(file: string, matcher: (line: string) => boolean, maxBytes: number): Promise<Omit<Match, 'path'>[]> {
  const s = await stat(file);
  if (s.size > maxBytes) return [];
  const buf = await readNoFollow(file);
  if (buf.includes(0)) return [];
  const out: Omit<Match, 'path'>[] = [];
  buf
    .toString('utf8')
    .split('\n')
    .forEach((line, i) => {
      if (matcher(line)) out.push({ line: i + 1, text: line.length > MAX_MATCH_TEXT ? `${line.slice(0, MAX_MATCH_TEXT)}…` : line });
    });
  return out;
}

async function writeText(root: string, resolve: Resolver, p: string, content: string): Promise<FsResult<{ bytes: number; created: boolean }>> {
  const r = await resolve(p);
  if (!r.ok) return r;
  if (r.rel === '') return refuse('not_a_file', 'cannot write to the worktree root itself');
  if (r.rel.split('/').includes('.git')) return refuse('outside', `'${p}' is inside .git; git metadata cannot be written`);
  const parent = path.dirname(r.real);
  await mkdir(parent, { recursive: true });
  if (!isInside(root, await realpath(parent))) return refuse('outside', `'${p}' resolves outside the worktree`);
  const existing = await lstat(r.real).catch(() => null);
  if (existing && !existing.isFile()) return refuse('not_a_file', `'${p}' exists and is not a regular file`);
  const handle = await open(r.real, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
  try {
    await handle.writeFile(content, 'utf8');
  } finally {
    await handle.close();
  }
  return { ok: true, bytes: Buffer.byteLength(content, 'utf8'), created: existing === null };
}
