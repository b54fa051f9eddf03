/**
 * The run journal on disk: one JSON event per line in `<stateDir>/runs/<runId>/journal.jsonl`.
 * Appends are synchronous writes on an append-mode descriptor (so an event is in the file, if not
 * yet durable, when `append` returns); `flush` makes them durable. A crash can tear at most the
 * last line: readers ignore it and report it, and reopening the journal cuts it off before
 * appending again.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  writeSync,
} from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { JournalEvent, JournalRead, JournalStore, NewEvent } from '../core/journal';

/** A journal file open for appending. */
export interface JournalFile extends JournalStore {
  readonly path: string;
  /** The seq of the last event in the file (0 when empty). */
  readonly lastSeq: number;
  readonly closed: boolean;
  /** Make everything durable and close the file. Appending afterwards throws. Idempotent. */
  close(): void;
}

/** The journal is damaged somewhere other than its last line (or is not a journal at all). */
export class JournalCorruptError extends Error {
  override readonly name = 'JournalCorruptError';
  constructor(
    readonly path: string,
    /** 1-based line number, when known. */
    readonly line: number | null,
    message: string,
  ) {
    super(message);
  }
}

/** Options of `openJournal`, for tests. */
export interface OpenJournalOptions {
  /** Wall clock for the events' `t`; `Date.now` by default. */
  now?: () => number;
}

/** Longest torn-line text kept in `JournalRead.tornTail`. */
const TORN_TEXT_MAX = 4096;
const CHUNK = 64 * 1024;
const NEWLINE = 0x0a;
const RUN_ID_RE = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;

/**
 * Open (creating it and its folders when missing) the journal at `path` for appending. Numbering
 * continues after the last event already there; a torn last line is cut off first. Throws
 * `JournalCorruptError` when the last complete line is not an event.
 */
export function openJournal(path: string, runId: string, options: OpenJournalOptions = {}): JournalFile {
  mkdirSync(dirname(path), { recursive: true });
  const lastSeq = recoverTail(path);
  const fd = openSync(path, 'a');
  return new AppendJournal(path, runId, fd, lastSeq, fstatSync(fd).size, options.now ?? Date.now);
}

class AppendJournal implements JournalFile {
  private fd: number | null;

  constructor(
    readonly path: string,
    readonly runId: string,
    fd: number,
    private seq: number,
    private size: number,
    private readonly now: () => number,
  ) {
    this.fd = fd;
  }

  get lastSeq(): number {
    return this.seq;
  }

  get closed(): boolean {
    return this.fd === null;
  }

  append(event: NewEvent): JournalEvent {
    const fd = this.fd;
    if (fd === null) throw new Error(`journal ${this.path} is closed: cannot append a '${event.type}' event`);
    const seq = this.seq + 1;
    const t = this.now();
    // seq and t lead the line for readability, and are set again so a caller's stray values lose.
    const full: JournalEvent = { seq, t, ...event };
    full.seq = seq;
    full.t = t;
    const bytes = Buffer.from(JSON.stringify(full) + '\n', 'utf8');
    writeWhole(fd, bytes, this.size);
    this.seq = seq;
    this.size += bytes.length;
    return full;
  }

  flush(): Promise<void> {
    const fd = this.fd;
    if (fd === null) return Promise.resolve();
    return new Promise((resolve, reject) => {
      fdatasync(fd, (err) => {
        // After close() the data was synced there; an error from the closed descriptor is moot.
        if (err && this.fd !== null) reject(err);
        else resolve();
      });
    });
  }

  close(): void {
    const fd = this.fd;
    if (fd === null) return;
    this.fd = null;
    try {
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

/** Write all of `bytes`; on failure cut the file back to `sizeBefore` so no half line stays. */
function writeWhole(fd: number, bytes: Buffer, sizeBefore: number): void {
  let done = 0;
  try {
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
  } catch (err) {
    try {
      ftruncateSync(fd, sizeBefore);
    } catch {
      // Best effort: if even the truncation fails, a reader reports the torn tail.
    }
    throw err;
  }
}

/**
 * Read the journal at `path`. A torn last line (no final newline, or not an event) is left out
 * and reported; any other bad line, or a seq that does not increase, throws `JournalCorruptError`
 * naming the line. Blank lines are skipped. A missing file rejects with the fs error (ENOENT).
 */
export async function readJournal(path: string): Promise<JournalRead> {
  const text = await readFile(path, 'utf8');
  const contentEnd = text.trimEnd().length;
  const events: JournalEvent[] = [];
  let tornTail: JournalRead['tornTail'] = null;
  let pos = 0;
  let lineNo = 0;
  while (pos < contentEnd) {
    const nl = text.indexOf('\n', pos);
    const lineEnd = nl === -1 ? text.length : nl;
    const line = text.slice(pos, lineEnd);
    lineNo += 1;
    pos = lineEnd + 1;
    if (line.trim() === '') continue;
    const event = parseEvent(line);
    if (lineEnd >= contentEnd && (nl === -1 || event === null)) {
      tornTail = { line: lineNo, text: line.slice(0, TORN_TEXT_MAX) };
      break;
    }
    if (event === null) throw new JournalCorruptError(path, lineNo, `${path}: line ${lineNo} is not a journal event`);
    const prev = events.length ? events[events.length - 1].seq : 0;
    if (event.seq <= prev) {
      throw new JournalCorruptError(path, lineNo, `${path}: line ${lineNo} has seq ${event.seq}, not after ${prev}`);
    }
    events.push(event);
  }
  return { events, tornTail };
}

/** The event on one line, or null when the line is not JSON or not shaped like an event. */
function parseEvent(line: string): JournalEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    // Not JSON: the caller decides whether that is a torn tail or corruption.
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const v = value as Record<string, unknown>;
  const ok =
    Number.isSafeInteger(v.seq) && (v.seq as number) > 0 && typeof v.t === 'number' && typeof v.type === 'string';
  return ok ? (value as JournalEvent) : null;
}

/**
 * Before appending: cut off a torn last line and return the seq of the last event (0 for a
 * missing or empty file). Scans backwards, so opening a long journal stays cheap.
 */
function recoverTail(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  try {
    return lastSeqCuttingTorn(path, fd);
  } finally {
    closeSync(fd);
  }
}

function lastSeqCuttingTorn(path: string, fd: number): number {
  let end = fstatSync(fd).size;
  let cutAt: number | null = null;
  while (end > 0) {
    const hasNewline = readRange(fd, end - 1, end)[0] === NEWLINE;
    const textEnd = hasNewline ? end - 1 : end;
    const start = lineStart(fd, textEnd);
    const line = readRange(fd, start, textEnd).toString('utf8');
    end = start;
    if (line.trim() === '') continue;
    const event = hasNewline ? parseEvent(line) : null;
    if (event) {
      if (cutAt !== null) ftruncateSync(fd, cutAt);
      return event.seq;
    }
    if (cutAt !== null)
      throw new JournalCorruptError(path, null, `${path}: the last complete line is not a journal event`);
    cutAt = start;
  }
  if (cutAt !== null) ftruncateSync(fd, cutAt);
  return 0;
}

/** Offset of the first byte of the line that ends at `textEnd` (just after the previous newline). */
function lineStart(fd: number, textEnd: number): number {
  let pos = textEnd;
  while (pos > 0) {
    const from = Math.max(0, pos - CHUNK);
    const chunk = readRange(fd, from, pos);
    const at = chunk.lastIndexOf(NEWLINE);
    if (at !== -1) return from + at + 1;
    pos = from;
  }
  return 0;
}

function readRange(fd: number, from: number, to: number): Buffer {
  const buf = Buffer.alloc(to - from);
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, from + done);
    if (n === 0) break;
    done += n;
  }
  return buf.subarray(0, done);
}

/** True for a usable run id: letters, digits and `-`, starting with a letter or digit, ≤ 64 chars. */
export function isValidRunId(runId: string): boolean {
  return RUN_ID_RE.test(runId);
}

/** `<stateDir>/runs/<runId>/journal.jsonl`. Throws on a run id that is not valid (see isValidRunId). */
export function runJournalPath(stateDir: string, runId: string): string {
  if (!isValidRunId(runId)) throw new Error(`not a valid run id: ${JSON.stringify(runId)}`);
  return join(stateDir, 'runs', runId, 'journal.jsonl');
}

/** The run ids under `<stateDir>/runs`, newest first (ids sort by time); none when it is missing. */
export async function listRunIds(stateDir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(join(stateDir, 'runs'), { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const ids = entries.filter((e) => e.isDirectory() && isValidRunId(e.name)).map((e) => e.name);
  return ids.sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
}

/** A new run id, `rYYYYMMDD-HHMMSS-xxxx`: UTC time (so ids sort by time) and 4 random hex digits. */
export function newRunId(now: Date = new Date()): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const date = `${p(now.getUTCFullYear(), 4)}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}`;
  const time = `${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  return `r${date}-${time}-${randomBytes(2).toString('hex')}`;
}
