/**
 * The Node implementation of the `ProcessRunner` port: runs a shell command line in the sandbox
 * (src/core/sandbox.ts) with an allow-listed environment (src/core/agentEnv.ts), captures
 * interleaved output under a byte cap, and kills the whole process group on time-out, abort, or
 * when the shell exits and leaves background jobs behind.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess, StdioOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readSync, rmSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Duplex, Writable } from 'node:stream';
import { agentEnvironment } from '../core/agentEnv';
import type { ProcessResult, ProcessRunner, RunOptions } from '../core/ports';
import { describeSandboxState, sandboxState } from '../core/sandbox';
import type { Sandbox, SandboxLaunch, SandboxNetwork, SandboxScope } from '../core/sandbox';
import { errorMessage } from '../core/errors';
import type { NetworkProxy } from './networkProxy';
import { detachedDescendants } from './processTree';

const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024;
const KILL_GRACE_MS = 1000;
/** After the final SIGKILL, how long to wait for the pipes to close before giving up on them. */
const CLOSE_FALLBACK_MS = 1500;
const HEAD_SHARE = 0.2;

/** Options for `createProcessRunner`. */
export interface ProcessRunnerOptions {
  /**
   * What confines every process; null runs them unconfined, which only the user's choice
   * (`foreman.sandbox.mode: "off"`) may ask for.
   */
  sandbox: Sandbox | null;
  /** Where the processes may write, and the folders the environment points at. */
  scope: SandboxScope;
  network: SandboxNetwork;
  /**
   * The task's network proxy, which every sandbox launched with a channel (network `allowList`) is
   * connected to; without one, such a command is not started.
   */
  proxy?: NetworkProxy | null;
  /** Names of further variables of `parentEnv` the processes get (`foreman.sandbox.env`). */
  envNames?: readonly string[];
  /** The environment the allow-list picks from. Default: Foreman's own, `process.env`. */
  parentEnv?: Readonly<Record<string, string | undefined>>;
  /** The shell that runs an unconfined command line as `<shell> -c <command>`. Default `/bin/sh`. */
  shell?: string;
}

/**
 * Create a runner. Each `run` starts `/bin/sh -c command` in the sandbox, detached (its own process
 * group), with stdin empty, in `cwd`, with the environment `agentEnvironment` builds (the scope's
 * HOME, TMPDIR and cache, and `options.env` last). When the sandbox cannot run here, nothing
 * starts and the result says why and what to do. It never throws for a failing command: a non-zero
 * exit, a time-out, an abort, a refusal or a spawn failure (e.g. a missing cwd, reported with
 * `exitCode: null` and the reason in `output`) are all values. It resolves only once the child has
 * closed and its process group has been signalled.
 */
export function createProcessRunner(options: ProcessRunnerOptions): ProcessRunner {
  return { run: (command, runOptions) => runCommand(options, command, runOptions) };
}

/** What to spawn for `command`: the sandbox's launch, or the plain shell when it is off. */
export function launchFor(options: ProcessRunnerOptions, command: string, runOptions: RunOptions): SandboxLaunch {
  const { scope } = options;
  const env = agentEnvironment(options.parentEnv ?? process.env, options.envNames ?? [], scope, runOptions.env);
  if (options.sandbox === null)
    return {
      file: options.shell ?? '/bin/sh',
      args: ['-c', command],
      cwd: runOptions.cwd,
      env,
      fd3: null,
      lifeline: false,
      channel: false,
    };
  return options.sandbox.launch({ command, cwd: runOptions.cwd, scope, network: options.network, env });
}

/**
 * Processes started in one turn of the event loop, at most. Spawning forks this (large) process on
 * the main thread: a hundred agents whose commands start together would stall the loop (the panel,
 * the streams) for a second in one turn; spread over turns, other work runs in between.
 */
const SPAWNS_PER_TURN = 2;
let spawnsThisTurn = 0;
let nextTurn: Promise<void> | null = null;

/** Wait for a spawn slot in this turn of the event loop, or in a later one. */
export async function spawnTurn(): Promise<void> {
  for (;;) {
    nextTurn ??= new Promise((resolve) =>
      setImmediate(() => {
        spawnsThisTurn = 0;
        nextTurn = null;
        resolve();
      }),
    );
    if (spawnsThisTurn < SPAWNS_PER_TURN) break;
    await nextTurn;
  }
  spawnsThisTurn++;
}

async function runCommand(runner: ProcessRunnerOptions, command: string, options: RunOptions): Promise<ProcessResult> {
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
  if (runner.sandbox !== null) {
    const status = await runner.sandbox.probe();
    if (!status.available) return failed(`[not started: ${describeSandboxState(sandboxState('on', status))}]`);
  }
  await spawnTurn();
  const launch = launchFor(runner, command, options);
  const proxy = runner.proxy ?? null;
  if (launch.channel && proxy === null)
    return failed("[not started: an allow-listed network needs the task's network proxy, and this runner has none]");
  // Output goes to a file, not a pipe: a program that calls exit() right after writing a lot
  // (tsc, test runners) can lose what is still queued for a pipe, often the very failure lines a
  // repair needs. Writes to a file are complete when exit() runs. The file lives in the task's
  // own folder under the run's state (beside the sandbox's writable tmp, not inside it), so even a
  // Foreman killed mid-command leaves it there and not in the system's temporary folder.
  const outDir = dirname(runner.scope.tmp);
  const outPath = join(existsSync(outDir) ? outDir : tmpdir(), `out-${randomBytes(8).toString('hex')}`);
  const fd = openSync(outPath, 'w+', 0o600);
  let child: ChildProcess;
  try {
    const stdio: StdioOptions = ['ignore', fd, fd, launch.fd3 === null ? 'ignore' : 'pipe'];
    if (launch.lifeline || launch.channel) stdio.push(launch.lifeline ? 'pipe' : 'ignore');
    if (launch.channel) stdio.push('pipe');
    child = spawn(launch.file, launch.args, { cwd: launch.cwd, env: launch.env, detached: true, stdio });
  } catch (e) {
    closeSync(fd);
    rmSync(outPath, { force: true });
    return failed(`[failed to start: ${errorMessage(e)}]`);
  }
  feedFd3(child, launch.fd3);
  // The lifeline's own end stays open, unread and unwritten, until the command has ended.
  const lifeline = launch.lifeline ? (child.stdio[4] as Writable | null) : null;
  lifeline?.on('error', () => undefined);
  // The sandbox's way out: a socket pair whose other end is its descriptor 5, served by the proxy.
  const channel = launch.channel ? ((child.stdio as readonly unknown[])[5] as Duplex | null) : null;
  if (channel) proxy?.attach(channel);
  return supervise(child, options, started, fd).finally(() => {
    channel?.destroy();
    lifeline?.destroy();
    closeSync(fd);
    rmSync(outPath, { force: true });
  });
}

/** Write the sandbox's own input to the child's descriptor 3 and close it. */
function feedFd3(child: ChildProcess, bytes: Uint8Array | null): void {
  const pipe = child.stdio[3] as Writable | null | undefined;
  if (bytes === null || !pipe) return;
  // The child may die before reading it (killed at once, or a spawn failure): its result says why.
  pipe.on('error', () => undefined);
  pipe.end(Buffer.from(bytes));
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

export interface GroupKiller {
  /** SIGTERM the group now and SIGKILL it after a grace. Idempotent. */
  kill(): void;
  /** Stop the timers; if the group was sent SIGTERM but not yet SIGKILL, SIGKILL it now. */
  dispose(): void;
}

/**
 * Kill sequence for a child's process group, and at once for its descendants that left the group
 * (see processTree.ts). `onStuck` runs when the pipes have still not closed
 * some time after the SIGKILL (a process that left the group still holds them).
 */
export function createGroupKiller(child: ChildProcess, onStuck: () => void): GroupKiller {
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
      // Those that left the group are killed at once, while their parent links still lead here.
      killDetached(pid);
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

/**
 * SIGKILL every descendant of `pgid` that left its process group, and the groups they are in: a
 * sandbox's namespace init (which takes its whole namespace with it) or a `setsid` child. They get
 * no grace: inside a sandbox everything dies with its init anyway.
 */
function killDetached(pgid: number): void {
  const { pids, groups } = detachedDescendants(pgid);
  for (const group of groups) signalGroup(group, 'SIGKILL');
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // ESRCH: it is already gone, with its group or by itself.
    }
  }
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
