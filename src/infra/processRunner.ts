/**
 * The Node implementation of the `ProcessRunner` port: runs a shell command line in its own process
 * group with a scrubbed environment, captures interleaved output under a byte cap, and kills the
 * whole group on time-out, abort, or when the shell exits and leaves background jobs behind.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, rmSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProcessResult, ProcessRunner, RunOptions } from '../core/ports';
import { errorMessage } from '../core/errors';

const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024;
const KILL_GRACE_MS = 1000;
/** After the final SIGKILL, how long to wait for the pipes to close before giving up on them. */
const CLOSE_FALLBACK_MS = 1500;
const HEAD_SHARE = 0.2;

const SECRET_NAME = /(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|AUTH|COOKIE|SESSION)/i;
const SECRET_PREFIX = /^(OPENAI_|ANTHROPIC_|AWS_|AZURE_|GOOGLE_|GH_|GITHUB_|NPM_CONFIG__AUTH|FOREMAN_)/i;

/**
 * Copy an environment without any variable that could hold a secret: names containing KEY, TOKEN,
 * SECRET, PASSWORD, PASSWD, CREDENTIAL, AUTH, COOKIE or SESSION (any case), and names starting with
 * a cloud/vendor/Foreman prefix (OPENAI_, ANTHROPIC_, AWS_, AZURE_, GOOGLE_, GH_, GITHUB_,
 * NPM_CONFIG__AUTH, FOREMAN_). Undefined values are dropped. The input is not modified.
 */
export function scrubEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (SECRET_NAME.test(name) || SECRET_PREFIX.test(name)) continue;
    out[name] = value;
  }
  return out;
}

/**
 * Variables by which a test runner recognises its own children. Inherited by a repository's
 * checks, `NODE_TEST_CONTEXT` makes `node --test` in the check report to the outer runner and exit
 * 0 even when its tests fail, so Foreman, when itself run under `node --test`, would pass bad work.
 */
const HARNESS_VARS = ['NODE_TEST_CONTEXT'];

function withoutHarnessVars(env: Record<string, string>): Record<string, string> {
  for (const name of HARNESS_VARS) delete env[name];
  return env;
}

/** Options for `createProcessRunner`. */
export interface ProcessRunnerOptions {
  /** The shell that runs the command line as `<shell> -c <command>`. Default `/bin/sh`. */
  shell?: string;
}

/**
 * Create a runner. Each `run` spawns `<shell> -c command` detached (its own process group) with
 * stdin ignored, in `cwd`, with `scrubEnv(process.env)` plus `GIT_TERMINAL_PROMPT=0` plus
 * `options.env`. It never throws for a failing command: a non-zero exit, a time-out, an abort or a
 * spawn failure (e.g. a missing cwd, reported with `exitCode: null` and the reason in `output`) are
 * all values. It resolves only once the child has closed and its process group has been signalled.
 */
export function createProcessRunner(options: ProcessRunnerOptions = {}): ProcessRunner {
  const shell = options.shell ?? '/bin/sh';
  return {
    run: (command, runOptions) => runCommand(shell, command, runOptions),
  };
}

async function runCommand(shell: string, command: string, options: RunOptions): Promise<ProcessResult> {
  const started = Date.now();
  const failed = (output: string, aborted = false): ProcessResult => ({
    exitCode: null,
    signal: null,
    timedOut: false,
    aborted,
    output,
    truncated: false,
    durationMs: Date.now() - started,
  });
  if (options.signal?.aborted) return failed('[not started: the operation was aborted]', true);
  const cwdProblem = await checkCwd(options.cwd);
  if (cwdProblem) return failed(cwdProblem);
  const env = { ...withoutHarnessVars(scrubEnv(process.env)), GIT_TERMINAL_PROMPT: '0', ...(options.env ?? {}) };
  // Output goes to a file, not a pipe: a program that calls exit() right after writing a lot
  // (tsc, test runners) can lose what is still queued for a pipe, often the very failure lines a
  // repair needs. Writes to a file are complete when exit() runs.
  const outPath = join(tmpdir(), `foreman-out-${randomBytes(8).toString('hex')}`);
  const fd = openSync(outPath, 'w+', 0o600);
  let child: ChildProcess;
  try {
    child = spawn(shell, ['-c', command], { cwd: options.cwd, env, detached: true, stdio: ['ignore', fd, fd] });
  } catch (e) {
    closeSync(fd);
    rmSync(outPath, { force: true });
    return failed(`[failed to start: ${errorMessage(e)}]`);
  }
  return supervise(child, options, started, fd).finally(() => {
    closeSync(fd);
    rmSync(outPath, { force: true });
  });
}

/** Everything written to the output file so far, through the capping collector. */
function readOutput(fd: number, cap: number): { text: string; truncated: boolean } {
  const collector = createOutputCollector(cap);
  const chunk = Buffer.alloc(256 * 1024);
  for (let position = 0; ;) {
    const n = readSync(fd, chunk, 0, chunk.length, position);
    if (n <= 0) break;
    collector.push(Buffer.from(chunk.subarray(0, n)));
    position += n;
  }
  return collector.result();
}

async function checkCwd(cwd: string): Promise<string | null> {
  try {
    const s = await stat(cwd);
    return s.isDirectory() ? null : `[failed to start: working directory is not a directory: ${cwd}]`;
  } catch {
    // Any stat failure (missing, permission) means the command cannot start there.
    return `[failed to start: working directory does not exist: ${cwd}]`;
  }
}

/** Watch a spawned child to the end: enforce the time-out and the abort signal, then read its output. */
function supervise(child: ChildProcess, options: RunOptions, started: number, outFd: number): Promise<ProcessResult> {
  let timedOut = false;
  let aborted = false;
  let spawnError: string | null = null;

  return new Promise<ProcessResult>((resolve) => {
    const killer = createGroupKiller(child, () => finish(child.exitCode, child.signalCode ?? 'SIGKILL'));
    const timer = setTimeout(
      () => {
        timedOut = true;
        killer.kill();
      },
      Math.max(0, options.timeoutMs),
    );
    const onAbort = (): void => {
      aborted = true;
      killer.kill();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    let done = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      killer.dispose();
      options.signal?.removeEventListener('abort', onAbort);
      const { text, truncated } = readOutput(outFd, options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES);
      const output = spawnError ? `${text}[failed to start: ${spawnError}]` : text;
      resolve({ exitCode: code, signal, timedOut, aborted, output, truncated, durationMs: Date.now() - started });
    };
    child.on('error', (e) => {
      spawnError = errorMessage(e);
      if (child.pid === undefined) finish(null, null);
    });
    // The shell is gone; anything left in its group is a background job: end it too.
    child.on('exit', () => killer.kill());
    child.on('close', (code, signal) => finish(code, signal));
  });
}

interface GroupKiller {
  /** SIGTERM the group now and SIGKILL it after a grace. Idempotent. */
  kill(): void;
  /** Stop the timers; if the group was sent SIGTERM but not yet SIGKILL, SIGKILL it now. */
  dispose(): void;
}

/**
 * Kill sequence for a child's process group. `onStuck` runs when the pipes have still not closed
 * some time after the SIGKILL (a process that left the group still holds them).
 */
function createGroupKiller(child: ChildProcess, onStuck: () => void): GroupKiller {
  const timers: NodeJS.Timeout[] = [];
  let termSent = false;
  let killSent = false;
  const sendKill = (pid: number): void => {
    killSent = true;
    signalGroup(pid, 'SIGKILL');
  };
  return {
    kill() {
      const pid = child.pid;
      if (termSent || pid === undefined) return;
      termSent = true;
      if (!signalGroup(pid, 'SIGTERM')) {
        killSent = true;
        return;
      }
      timers.push(
        setTimeout(() => {
          sendKill(pid);
          timers.push(setTimeout(onStuck, CLOSE_FALLBACK_MS));
        }, KILL_GRACE_MS),
      );
    },
    dispose() {
      for (const t of timers) clearTimeout(t);
      if (termSent && !killSent && child.pid !== undefined) sendKill(child.pid);
    },
  };
}

/** Send a signal to a process group. Returns false when the group no longer exists. */
function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    // ESRCH: every member already exited; EPERM cannot happen for our own children.
    return false;
  }
}

interface OutputCollector {
  push(chunk: Buffer): void;
  result(): { text: string; truncated: boolean };
}

/** Keep the first ~20% and the last ~80% of `cap` bytes of a byte stream. */
function createOutputCollector(cap: number): OutputCollector {
  const headCap = Math.floor(cap * HEAD_SHARE);
  const tailCap = cap - headCap;
  const head: Buffer[] = [];
  let headBytes = 0;
  let tail: Buffer[] = [];
  let tailBytes = 0;
  let total = 0;
  return {
    push(chunk) {
      total += chunk.length;
      let rest = chunk;
      if (headBytes < headCap) {
        const take = Math.min(headCap - headBytes, rest.length);
        head.push(rest.subarray(0, take));
        headBytes += take;
        rest = rest.subarray(take);
      }
      if (rest.length === 0) return;
      tail.push(rest);
      tailBytes += rest.length;
      if (tailBytes > tailCap * 2) {
        tail = [Buffer.concat(tail).subarray(tailBytes - tailCap)];
        tailBytes = tailCap;
      }
    },
    result() {
      const headBuf = Buffer.concat(head);
      let tailBuf = Buffer.concat(tail);
      if (total <= cap) return { text: Buffer.concat([headBuf, tailBuf]).toString('utf8'), truncated: false };
      tailBuf = tailBuf.subarray(tailBuf.length - tailCap);
      const omitted = total - headBuf.length - tailBuf.length;
      const text = `${trimHeadUtf8(headBuf)}\n[… ${omitted} bytes omitted …]\n${trimTailUtf8(tailBuf)}`;
      return { text, truncated: true };
    },
  };
}

/** Decode a buffer cut at its end, dropping a trailing incomplete UTF-8 sequence. */
function trimHeadUtf8(buf: Buffer): string {
  let end = buf.length;
  let back = 0;
  while (end > 0 && back < 4 && (buf[end - 1] & 0xc0) === 0x80) {
    end--;
    back++;
  }
  if (end > 0 && buf[end - 1] >= 0xc0) {
    const lead = buf[end - 1];
    const need = lead >= 0xf0 ? 3 : lead >= 0xe0 ? 2 : 1;
    if (back < need) return buf.subarray(0, end - 1).toString('utf8');
  }
  return buf.toString('utf8');
}

/** Decode a buffer cut at its start, dropping leading UTF-8 continuation bytes. */
function trimTailUtf8(buf: Buffer): string {
  let start = 0;
  while (start < buf.length && start < 4 && (buf[start] & 0xc0) === 0x80) start++;
  return buf.subarray(start).toString('utf8');
}
