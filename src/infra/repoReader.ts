/**
 * The real `RepoReader`: lists a repository's files through git and reads text files safely
 * (never outside the repository, never binary, never more than asked).
 */
import { execFile } from 'node:child_process';
import { open, realpath } from 'node:fs/promises';
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { promisify } from 'node:util';
import type { RepoReader } from '../core/repoView';

const execFileAsync = promisify(execFile);

/** File-system error codes that mean "no readable text here", not a fault. */
const UNREADABLE = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'EACCES', 'EPERM', 'ELOOP', 'ENAMETOOLONG']);

/**
 * A `RepoReader` for the git repository (or worktree) at `root`. `listFiles` runs
 * `git ls-files --cached --others --exclude-standard` (no shell) and rejects when `root` is not a
 * git repository or the signal aborts. `readText` resolves links and returns null for paths that
 * end up outside the repository, missing files, non-regular files and binary files (a NUL byte in
 * what was read); a multi-byte character cut by `maxBytes` is dropped, as is a byte-order mark.
 */
export function createRepoReader(root: string): RepoReader {
  const absRoot = path.resolve(root);
  return {
    listFiles: (signal) => listGitFiles(absRoot, signal),
    readText: (file, maxBytes) => readTextInside(absRoot, file, maxBytes),
  };
}

async function listGitFiles(root: string, signal?: AbortSignal): Promise<string[]> {
  const { stdout } = await execFileAsync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: root,
    signal,
    maxBuffer: 256 * 1024 * 1024,
    encoding: 'utf8',
    windowsHide: true,
  });
  // With -z, names are NUL-terminated and never quoted; a path listed twice (e.g. unmerged) once.
  return [...new Set(stdout.split('\0').filter((name) => name !== ''))];
}

async function readTextInside(root: string, file: string, maxBytes: number): Promise<string | null> {
  if (path.isAbsolute(file) || file.split(/[\\/]/).includes('..')) return null;
  let realFile: string;
  let realRoot: string;
  try {
    realRoot = await realpath(root);
    realFile = await realpath(path.resolve(root, file));
  } catch (e) {
    if (isUnreadable(e)) return null;
    throw e;
  }
  const rel = path.relative(realRoot, realFile);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return null;
  try {
    return await readTextPrefix(realFile, maxBytes);
  } catch (e) {
    if (isUnreadable(e)) return null;
    throw e;
  }
}

async function readTextPrefix(file: string, maxBytes: number): Promise<string | null> {
  const handle = await open(file, 'r');
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return null;
    const size = Math.max(0, Math.min(Math.floor(maxBytes), stat.size));
    const buffer = Buffer.alloc(size);
    let filled = 0;
    while (filled < size) {
      const { bytesRead } = await handle.read(buffer, filled, size - filled, filled);
      if (bytesRead === 0) break; // the file shrank while we read it
      filled += bytesRead;
    }
    const bytes = buffer.subarray(0, filled);
    if (bytes.includes(0)) return null;
    // write() without end() keeps back an incomplete trailing character instead of mangling it.
    const text = new StringDecoder('utf8').write(bytes);
    return text.startsWith('\uFEFF') ? text.slice(1) : text;
  } finally {
    await handle.close();
  }
}

function isUnreadable(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && UNREADABLE.has(code);
}
