/**
 * The ports through which the core reaches the world. The core imports no Node I/O module: it is
 * given implementations of these interfaces (src/infra/ for real ones, fakes in tests).
 * Every call that can hang takes an AbortSignal.
 */

import type { SandboxProfile } from './journal';

/** Result of running a command. Expected outcomes (non-zero exit, time-out) are values. */
export interface ProcessResult {
  /** Exit code, or null when the process was killed by a signal. */
  exitCode: number | null;
  /** The signal that ended it, if any. */
  signal: string | null;
  /** True when the runner killed it because the time-out passed. */
  timedOut: boolean;
  /** True when it was killed because the caller's signal aborted. */
  aborted: boolean;
  /** Interleaved stdout and stderr, capped: the head and the tail are kept around a marker. */
  output: string;
  /** True when `output` was cut to the cap. */
  truncated: boolean;
  durationMs: number;
}

/** Options for running a command. */
export interface RunOptions {
  cwd: string;
  timeoutMs: number;
  /** Cap on the bytes of output kept. */
  maxOutputBytes?: number;
  /** Variables set for this command on top of the agent environment (see core/agentEnv.ts). */
  env?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * Runs shell commands on an agent's behalf. Contract: the command runs in the sandbox of the task
 * the runner belongs to (src/core/sandbox.ts), or is refused with the reason in its output when no
 * sandbox can run and the user has not turned it off; it runs in its own process group, and a
 * time-out or an abort kills it and everything it started (no orphans); its environment is the
 * agent environment of core/agentEnv.ts, an allow-list, so it never holds Foreman's API key or any
 * variable the user did not name.
 */
export interface ProcessRunner {
  run(command: string, options: RunOptions): Promise<ProcessResult>;
}

/**
 * The runner of one task: its processes may write only the task's worktree and its own temporary,
 * cache and home folders. `close` (after the task's last process has ended) removes those folders.
 */
export interface TaskRunner extends ProcessRunner {
  /** How the task's processes are confined, for the audit trail. */
  readonly profile: SandboxProfile;
  /**
   * Start a long-lived process with piped standard input and output (an MCP server) in the same
   * sandbox, scope and environment as the task's commands; `command` is a shell line. It dies with
   * `kill()`, with the task's runner, or with Foreman. A process the sandbox refuses resolves as an
   * error in words.
   */
  startServer?(
    command: string,
    options: { cwd: string; env?: Record<string, string> },
  ): Promise<ServerProcess | { error: string }>;
  close(): Promise<void>;
}

/** A running server process (see `TaskRunner.startServer`). */
export interface ServerProcess {
  readonly pid: number | null;
  /** Write to its standard input; false when it can take no more now (wait for `onDrain`). */
  write(data: string): boolean;
  onStdout(listener: (chunk: Uint8Array) => void): void;
  onStderr(listener: (chunk: Uint8Array) => void): void;
  /** Told once when it has ended; `error` when it could not start. */
  onExit(listener: (exit: { code: number | null; signal: string | null; error: string | null }) => void): void;
  /** End it and everything it started. Idempotent. */
  kill(): void;
}

/** A file-system error a tool reports to the model rather than throwing. */
export interface FsRefusal {
  ok: false;
  /** `outside`: the path resolves outside the worktree (through .., an absolute path or a link). */
  reason: 'outside' | 'not_found' | 'not_a_file' | 'not_a_directory' | 'too_large' | 'invalid';
  message: string;
}

export type FsResult<T> = ({ ok: true } & T) | FsRefusal;

/**
 * File access confined to one worktree. Contract: every path, relative or absolute, is resolved
 * to its real path (symlinks followed, for the path and for each of its parents) and refused when
 * it is outside the worktree root; nothing outside the root is ever read or written.
 */
export interface WorktreeFs {
  readonly root: string;
  readFile(
    path: string,
    opts?: { startLine?: number; endLine?: number },
  ): Promise<FsResult<{ text: string; totalLines: number }>>;
  listDir(path: string): Promise<FsResult<{ entries: { name: string; type: 'file' | 'dir' | 'link' }[] }>>;
  /** Fixed-string or regular-expression search over text files, `.git` excluded. */
  search(
    pattern: string,
    opts?: { path?: string; regex?: boolean; maxResults?: number },
  ): Promise<FsResult<{ matches: { path: string; line: number; text: string }[]; truncated: boolean }>>;
  writeFile(path: string, content: string): Promise<FsResult<{ bytes: number; created: boolean }>>;
}

/** A monotonic and wall clock, injectable for tests. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
