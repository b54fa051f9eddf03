/**
 * The Node implementation of the `WorktreeFs` port: file access confined to one worktree. Every
 * path is resolved to its real path (symlinks followed for the file and each parent) and refused
 * when that lies outside the root; writes refuse `.git` and never follow a symlink at the last step.
 * After a file is opened (O_NOFOLLOW) the path the descriptor really points at is checked again
 * (on Linux, through /proc/self/fd), so a parent swapped for a symlink between the check and the
 * open cannot lead outside. Small files are read synchronously: far cheaper than the async path.
 */
import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFile as readFd,
  readFileSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  statSync,
  writeSync,
} from 'node:fs';
import type { Dirent, Stats } from 'node:fs';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { FsRefusal, FsResult, WorktreeFs } from '../core/ports';
import { errorMessage } from '../core/errors';

const DEFAULT_MAX_READ_BYTES = 512 * 1024;
/** Files larger than this are never loaded, even for a line range. */
const HARD_READ_LIMIT = 32 * 1024 * 1024;
const DEFAULT_MAX_RESULTS = 100;
const MAX_SEARCHED_FILES = 20_000;
const MAX_MATCH_TEXT = 300;
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);
/** Files up to this size are read synchronously (one open, one fstat, one read: microseconds). */
const SYNC_READ_MAX = 256 * 1024;
/** A search hands the event loop back after this much work, so a big tree never stalls it. */
const SEARCH_SLICE_MS = 4;
/**
 * O_NONBLOCK: opening a FIFO must not block (it is then refused as not a regular file).
 * O_NOFOLLOW: a symbolic link at the last step is never followed.
 */
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK;
const readFdAsync = promisify(readFd);
/** Linux names what a descriptor really opened here, which closes the window between check and open. */
const FD_LINKS = process.platform === 'linux' ? '/proc/self/fd' : null;

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
  const resolve = (p: string): Resolved | FsRefusal => resolveInside(realRoot, p);
  return {
    root: realRoot,
    readFile: (p, opts) => guard(() => readText(realRoot, resolve, p, maxReadBytes, opts ?? {})),
    listDir: (p) => guard(() => listDirectory(resolve, p)),
    search: (pattern, opts) => guard(() => searchTree(realRoot, resolve, pattern, maxReadBytes, opts ?? {})),
    writeFile: (p, content) => guard(() => writeText(realRoot, resolve, p, content)),
  };
}

/** Turn an unforeseen I/O error into a refusal the caller can show. */
async function guard<T>(fn: () => FsResult<T> | Promise<FsResult<T>>): Promise<FsResult<T>> {
  try {
    return await fn();
  } catch (e) {
    return fromError(e);
  }
}

function fromError(e: unknown): FsRefusal {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  const msg = errorMessage(e);
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
function resolveInside(root: string, p: string): Resolved | FsRefusal {
  if (typeof p !== 'string' || p.includes('\0'))
    return refuse('invalid', 'the path must be a string without NUL bytes');
  const wanted = path.resolve(root, p === '' ? '.' : p);
  const missing: string[] = [];
  let current = wanted;
  for (;;) {
    try {
      const real = path.join(realpathSync.native(current), ...missing);
      if (!isInside(root, real)) {
        return refuse('outside', `'${p}' resolves outside the worktree (${root}); only paths inside it can be used`);
      }
      return { ok: true, real, rel: toRel(root, real) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      if (isLink(current)) {
        return refuse('outside', `'${p}' goes through a symbolic link whose target does not exist; refused`);
      }
      const parent = path.dirname(current);
      if (parent === current) throw e;
      missing.unshift(path.basename(current));
      current = parent;
    }
  }
}

function isLink(p: string): boolean {
  return lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink() ?? false;
}

type Resolver = (p: string) => Resolved | FsRefusal;

/** Where descriptor `fd` (opened from `opened`) really points: /proc on Linux, else the path's realpath. */
function openedPath(fd: number, opened: string): string {
  if (FD_LINKS !== null) {
    try {
      return readlinkSync(`${FD_LINKS}/${fd}`);
    } catch {
      // /proc not mounted (some containers): fall back to the path.
    }
  }
  return realpathSync.native(opened);
}

/**
 * Open `file` with `flags` (always O_NOFOLLOW) and return the descriptor, or null when what was
 * opened lies outside `root` (a parent was swapped for a link after the path was checked); the
 * descriptor is then closed before anything was read or written through it.
 */
function openConfined(root: string, file: string, flags: number, mode?: number): number | null {
  const fd = openSync(file, flags, mode);
  let inside = false;
  try {
    inside = isInside(root, openedPath(fd, file));
  } finally {
    if (!inside) closeSync(fd);
  }
  return inside ? fd : null;
}

const escaped = (p: string): FsRefusal =>
  refuse('outside', `'${p}' led outside the worktree while it was being opened; refused`);

async function readText(
  root: string,
  resolve: Resolver,
  p: string,
  maxReadBytes: number,
  opts: { startLine?: number; endLine?: number },
): Promise<FsResult<{ text: string; totalLines: number }>> {
  const r = resolve(p);
  if (!r.ok) return r;
  const fd = openConfined(root, r.real, READ_FLAGS);
  if (fd === null) return escaped(p);
  let buf: Buffer;
  try {
    const s = fstatSync(fd);
    if (!s.isFile()) return refuse('not_a_file', `'${p}' is not a regular file`);
    if (s.size > HARD_READ_LIMIT || (!ranged(opts) && s.size > maxReadBytes)) {
      return refuse(
        'too_large',
        `'${p}' is ${s.size} bytes, over the ${maxReadBytes}-byte limit; read it in parts with a line range`,
      );
    }
    buf = await readOpened(fd, s);
  } finally {
    closeSync(fd);
  }
  if (buf.subarray(0, 8192).includes(0)) return refuse('not_a_file', `'${p}' is a binary file (${buf.length} bytes)`);
  const text = buf.toString('utf8');
  return ranged(opts) ? sliceLines(p, text, opts) : { ok: true, text, totalLines: countLines(text) };
}

function ranged(opts: { startLine?: number; endLine?: number }): boolean {
  return opts.startLine !== undefined || opts.endLine !== undefined;
}

/** The whole file behind `fd`: synchronously when small, on the thread pool when large. */
function readOpened(fd: number, s: Stats): Buffer | Promise<Buffer> {
  return s.size <= SYNC_READ_MAX ? readFileSync(fd) : readFdAsync(fd);
}

function countLines(text: string): number {
  if (text === '') return 0;
  const n = text.split('\n').length;
  return text.endsWith('\n') ? n - 1 : n;
}

/** Lines `startLine..endLine`, 1-based and inclusive, clamped to the end of the file. */
function sliceLines(
  p: string,
  text: string,
  opts: { startLine?: number; endLine?: number },
): FsResult<{ text: string; totalLines: number }> {
  const totalLines = countLines(text);
  const start = opts.startLine ?? 1;
  const end = Math.min(opts.endLine ?? totalLines, totalLines);
  if (
    !Number.isInteger(start) ||
    start < 1 ||
    (opts.endLine !== undefined && (!Number.isInteger(opts.endLine) || opts.endLine < start))
  ) {
    return refuse(
      'invalid',
      `invalid line range ${start}-${opts.endLine ?? 'end'}: lines are 1-based and the end must not be before the start`,
    );
  }
  if (start > totalLines) {
    return refuse('invalid', `'${p}' has ${totalLines} lines; start line ${start} is past the end`);
  }
  const lines = text.split('\n').slice(start - 1, end);
  const lastHasNewline = end < totalLines || text.endsWith('\n');
  return { ok: true, text: lines.join('\n') + (lastHasNewline ? '\n' : ''), totalLines };
}

function listDirectory(
  resolve: Resolver,
  p: string,
): FsResult<{ entries: { name: string; type: 'file' | 'dir' | 'link' }[] }> {
  const r = resolve(p === '' ? '.' : p);
  if (!r.ok) return r;
  if (!statSync(r.real).isDirectory()) return refuse('not_a_directory', `'${p}' is not a directory`);
  const entries = readdirSync(r.real, { withFileTypes: true })
    .map((d) => ({
      name: d.name,
      type: d.isSymbolicLink() ? ('link' as const) : d.isDirectory() ? ('dir' as const) : ('file' as const),
    }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { ok: true, entries };
}

type Match = { path: string; line: number; text: string };

/** Hands the event loop back once `SEARCH_SLICE_MS` of work has been done since the last time. */
class Slicer {
  private since = performance.now();

  async pause(): Promise<void> {
    if (performance.now() - this.since < SEARCH_SLICE_MS) return;
    await nextTurn();
    this.since = performance.now();
  }
}

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
  const r = resolve(opts.path ?? '.');
  if (!r.ok) return r;
  const slicer = new Slicer();
  const files = await collectFiles(r.real, slicer);
  const max = opts.maxResults ?? DEFAULT_MAX_RESULTS;
  const matches: Match[] = [];
  for (const file of files.paths) {
    for (const m of searchFile(root, file, matcher, maxReadBytes)) {
      if (matches.length >= max) return { ok: true, matches, truncated: true };
      matches.push({ path: toRel(root, file), ...m });
    }
    await slicer.pause();
  }
  return { ok: true, matches, truncated: files.truncated };
}

function makeMatcher(pattern: string, regex: boolean): ((line: string) => boolean) | string {
  if (!regex) return (line) => line.includes(pattern);
  try {
    const re = new RegExp(pattern);
    return (line) => re.test(line);
  } catch (e) {
    return `invalid regular expression: ${errorMessage(e)}`;
  }
}

function byNameDescending(a: Dirent, b: Dirent): number {
  return a.name < b.name ? 1 : a.name > b.name ? -1 : 0;
}

/** Regular files under `start` (or `start` itself), sorted, not following links, skipping .git and node_modules. */
async function collectFiles(start: string, slicer: Slicer): Promise<{ paths: string[]; truncated: boolean }> {
  if (statSync(start).isFile()) return { paths: [start], truncated: false };
  const paths: string[] = [];
  const stack = [start];
  while (stack.length > 0) {
    const dir = stack.pop() as string;
    const dirents = readdirSync(dir, { withFileTypes: true }).sort(byNameDescending);
    for (const d of dirents) {
      const full = path.join(dir, d.name);
      if (d.isDirectory() && !SKIPPED_DIRS.has(d.name)) stack.push(full);
      else if (d.isFile()) paths.push(full);
      if (paths.length >= MAX_SEARCHED_FILES) return { paths: paths.sort(), truncated: true };
    }
    await slicer.pause();
  }
  return { paths: paths.sort(), truncated: false };
}

/**
 * The matching lines of one file: opened without following a link, confined, one fstat, read
 * synchronously. Files that vanished, are not regular, too large or binary give no matches.
 */
function searchFile(
  root: string,
  file: string,
  matcher: (line: string) => boolean,
  maxBytes: number,
): Omit<Match, 'path'>[] {
  let fd: number | null;
  try {
    fd = openConfined(root, file, READ_FLAGS);
  } catch {
    return []; // gone, or replaced by a link, since the directory was read
  }
  if (fd === null) return [];
  let buf: Buffer;
  try {
    const s = fstatSync(fd);
    if (!s.isFile() || s.size > maxBytes) return [];
    buf = readFileSync(fd);
  } finally {
    closeSync(fd);
  }
  if (buf.includes(0)) return [];
  const out: Omit<Match, 'path'>[] = [];
  const lines = buf.toString('utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (matcher(line))
      out.push({ line: i + 1, text: line.length > MAX_MATCH_TEXT ? `${line.slice(0, MAX_MATCH_TEXT)}…` : line });
  }
  return out;
}

function writeText(
  root: string,
  resolve: Resolver,
  p: string,
  content: string,
): FsResult<{ bytes: number; created: boolean }> {
  const r = resolve(p);
  if (!r.ok) return r;
  if (r.rel === '') return refuse('not_a_file', 'cannot write to the worktree root itself');
  if (r.rel.split('/').includes('.git'))
    return refuse('outside', `'${p}' is inside .git; git metadata cannot be written`);
  const parent = path.dirname(r.real);
  mkdirSync(parent, { recursive: true });
  if (!isInside(root, realpathSync.native(parent))) return refuse('outside', `'${p}' resolves outside the worktree`);
  const existing = lstatSync(r.real, { throwIfNoEntry: false }) ?? null;
  if (existing && !existing.isFile()) return refuse('not_a_file', `'${p}' exists and is not a regular file`);
  // Not O_TRUNC: nothing is changed until the opened file is known to be inside.
  const fd = openConfined(root, r.real, WRITE_FLAGS, 0o644);
  if (fd === null) return escaped(p);
  const bytes = Buffer.from(content, 'utf8');
  try {
    if (!fstatSync(fd).isFile()) return refuse('not_a_file', `'${p}' is not a regular file`);
    ftruncateSync(fd, 0);
    for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done, done);
  } finally {
    closeSync(fd);
  }
  return { ok: true, bytes: bytes.length, created: existing === null };
}
