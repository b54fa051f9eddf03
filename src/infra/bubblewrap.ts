/**
 * The Linux implementation of the `Sandbox` port (src/core/sandbox.ts): bubblewrap (`bwrap`),
 * called directly. docs/architecture.md says why this and not @anthropic-ai/sandbox-runtime.
 *
 * Each command gets new user, PID, network, IPC, UTS and cgroup namespaces, no capabilities (also
 * when Foreman runs as root) and no way to make further user namespaces; a fresh /proc showing
 * only its own processes, with /proc/sys read-only; the whole file system read-only (/tmp too),
 * only the worktree and the task's temporary, cache and home folders writable; the developer's
 * checkout, Foreman's home folder and the system's temporary folder hidden; the seccomp filter
 * of seccompFilter.ts (no Unix sockets). `--die-with-parent` and the PID namespace make every
 * process of the command die when bwrap dies or the command's shell exits. With an allow-listed
 * network, a bridge inside carries connections to the proxy's port out through descriptor 5.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, dirname, isAbsolute, join } from 'node:path';
import type { Writable } from 'node:stream';
import { proxyEnvironment } from '../core/agentEnv';
import { SANDBOX_PROXY_PORT } from '../core/sandbox';
import type { Sandbox, SandboxLaunch, SandboxRequest, SandboxStatus } from '../core/sandbox';
import { errorMessage } from '../core/errors';
import { sandboxView } from '../core/sandboxView';
import { BRIDGE_SOURCE } from './proxyChannel';
import { unixSocketFilter } from './seccompFilter';

/** Options of `createBubblewrapSandbox`. */
export interface BubblewrapOptions {
  /** The bwrap binary: an absolute path, or looked up on PATH when absent. */
  bwrapPath?: string;
  /** The shell that runs command lines inside. Default `/bin/sh`. */
  shell?: string;
  /**
   * The Node (or Electron) binary that runs the network bridge of an allow-listed sandbox; it is
   * reached read-only inside like every other file. Default: the one running Foreman.
   */
  nodePath?: string;
}

const PROBE_TIMEOUT_MS = 10_000;
/** bubblewrap 0.8.0 added `--disable-userns`; older ones run without it (and say so). */
const DISABLE_USERNS_SINCE: readonly number[] = [0, 8, 0];

/** What a probe learned that shapes every later command line. */
interface Probed {
  status: SandboxStatus;
  disableUserns: boolean;
}

/**
 * The shell line every command runs behind: a background watcher that reads the lifeline
 * (descriptor 4) and gets end-of-file only when Foreman's end closes, that is when Foreman dies;
 * it then kills every process of the sandbox. `--die-with-parent` alone leaves a window: the
 * sandbox's init asks to die with its parent only once the command has started, so a Foreman
 * killed during the set-up would leave the sandbox running. The command itself runs without the
 * descriptor, as `$0 -c "$1"`.
 */
const LIFELINE_WATCH = '{ read -r _ <&4; kill -KILL -1; } & exec 4<&-; exec "$0" -c "$1"';

/**
 * The same line for an allow-listed network: before the command, the bridge (`$2 -e "$3"`, see
 * proxyChannel.ts) starts in the background with the channel on descriptor 5, and the line waits
 * until it says `ready` (its standard output is the command substitution's pipe, which it closes
 * then). The command itself runs without descriptor 5: its one way out is the bridge's port. When
 * the bridge cannot start, the command still runs, without network, and its output says why.
 */
const BRIDGED_WATCH = [
  '{ read -r _ <&4; kill -KILL -1; } & exec 4<&-',
  'r=$(NODE_OPTIONS= ELECTRON_RUN_AS_NODE=1 "$2" -e "$3" &)',
  'exec 5<&-',
  '[ "$r" = ready ] || echo "foreman: the sandbox\'s network bridge did not start; this command has no network" >&2',
  'exec "$0" -c "$1"',
].join('; ');

/** Probes by binary path: whether bwrap runs is a property of the machine, asked once per process. */
const probes = new Map<string, Promise<Probed>>();

/** The first executable `name` on `PATH`, or null. */
function findOnPath(name: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (!dir || !isAbsolute(dir)) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here, or not executable: look in the next folder.
    }
  }
  return null;
}

/** Run bwrap with `args` (and `fd3` on its descriptor 3); resolves with its status and output, never rejects. */
function runBwrap(bwrap: string, args: string[], fd3: Uint8Array | null): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(bwrap, args, { env: { PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => chunks.push(c));
    child.stderr?.on('data', (c: Buffer) => chunks.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS);
    const pipe = child.stdio[3] as Writable | null;
    // bwrap may exit before reading the filter (a bad option); its exit status says why.
    pipe?.on('error', () => undefined);
    pipe?.end(fd3 === null ? undefined : Buffer.from(fd3));
    let done = false;
    const finish = (ok: boolean, why: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ ok, out: Buffer.concat(chunks).toString('utf8').trim() || why });
    };
    // A spawn failure (a missing or non-executable binary) gets no 'close' of its own.
    child.on('error', (e) => finish(false, errorMessage(e)));
    child.on('close', (code, signal) => finish(code === 0, signal ? `killed by ${signal}` : `exit code ${code}`));
  });
}

function atLeast(version: readonly number[], min: readonly number[]): boolean {
  for (let i = 0; i < min.length; i++) {
    const v = version[i] ?? 0;
    if (v !== min[i]) return v > min[i];
  }
  return true;
}

/** Options that confine every command, before its mounts. */
function namespaceArgs(network: SandboxRequest['network'], disableUserns: boolean): string[] {
  const args = ['--unshare-all', '--die-with-parent', '--new-session', '--cap-drop', 'ALL'];
  if (disableUserns) args.push('--unshare-user', '--disable-userns');
  // `allowList` keeps the sandbox's own, empty network: its way out is the proxy's channel.
  if (network === 'host') args.push('--share-net');
  return args;
}

/**
 * The mounts, in order (later ones lie over earlier ones): everything read-only, a private /dev,
 * the sandbox's own /proc; an empty tmpfs over each hidden folder, with what the command's
 * environment needs brought back read-only (core/sandboxView.ts); the worktree writable; the
 * read-only paths over it (should one lie inside); the task's own folders writable, since they
 * live inside the repository's git directory; last, the hidden folders' tmpfs and /dev made
 * read-only, so that nothing can be written there either. /tmp stays read-only: TMPDIR is the
 * task's own folder. /dev/shm is a tmpfs of the command's own, gone when it ends.
 */
function mountArgs(request: SandboxRequest, needs: readonly string[] = []): string[] {
  const { scope } = request;
  const view = sandboxView(scope, request.env);
  // A folder that does not exist hides nothing, and bwrap cannot make its mount point in a read-only /.
  const hidden = view.hidden.filter((path) => existsSync(path));
  // bwrap's /dev is a writable tmpfs as large as half the RAM: `dd of=/dev/sda` would fill it.
  // It is made read-only at the end (its device nodes still work), with a /dev/shm of its own.
  const args = ['--ro-bind', '/', '/', '--dev', '/dev', '--tmpfs', '/dev/shm', '--proc', '/proc'];
  // A fresh procfs leaves /proc/sys writable to uid 0 even without capabilities (kernel.core_pattern
  // would run a program as the host's root): the host's, read-only, is laid over it.
  args.push('--ro-bind', '/proc/sys', '/proc/sys');
  for (const path of hidden) args.push('--tmpfs', path);
  for (const path of view.shown) args.push('--ro-bind-try', path, path);
  // What Foreman itself runs inside (the network bridge's Node) comes back read-only when hidden.
  for (const path of needs) if (hidden.some((h) => path.startsWith(`${h}/`))) args.push('--ro-bind-try', path, path);
  args.push('--bind', scope.worktree, scope.worktree);
  for (const path of scope.readOnly) args.push('--ro-bind', path, path);
  for (const path of [scope.tmp, scope.cache, scope.home]) args.push('--bind', path, path);
  for (const path of hidden) args.push('--remount-ro', path);
  args.push('--remount-ro', '/dev');
  return args;
}

/** Try a sandbox with every option a command gets (the network off); bwrap's words when it fails. */
async function trial(bwrap: string, shell: string, disableUserns: boolean): Promise<string | null> {
  const filter = unixSocketFilter(process.arch);
  const args = [...namespaceArgs('none', disableUserns), '--ro-bind', '/', '/', '--dev', '/dev', '--tmpfs', '/dev/shm'];
  args.push('--proc', '/proc', '--ro-bind', '/proc/sys', '/proc/sys', '--tmpfs', '/tmp', '--remount-ro', '/tmp');
  args.push('--remount-ro', '/dev');
  if (filter) args.push('--seccomp', '3');
  const r = await runBwrap(bwrap, [...args, '--', shell, '-c', 'exit 0'], filter);
  return r.ok ? null : r.out;
}

/** What a working sandbox guarantees, and what it cannot here. */
function summaryOf(userns: 'disabled' | 'old' | 'refused', filter: boolean): string {
  const limits = [
    userns === 'old' ? 'nested user namespaces allowed (bubblewrap older than 0.8 cannot disable them)' : null,
    userns === 'refused'
      ? 'nested user namespaces allowed (this system refused the namespace that disables them)'
      : null,
    filter ? null : `Unix sockets not blocked (no seccomp filter for ${process.arch})`,
  ].filter((l) => l !== null);
  const guarantees = [
    "writes only to the task's worktree and its own temporary, cache and home folders (/tmp is read-only)",
    'your checkout, home folder and temporary folder hidden',
    'no network unless allowed',
    'its own processes and /proc',
    ...(filter ? ['no Unix sockets'] : []),
  ];
  return `${guarantees.join(', ')}${limits.length ? `; ${limits.join('; ')}` : ''}`;
}

/**
 * Probe bwrap: its version, then a trial sandbox. Where the trial with nested user namespaces
 * disabled fails (that needs a user namespace, which some systems refuse to root), it is tried
 * again without, and the summary says what is missing.
 */
async function probe(bwrap: string | null, shell: string): Promise<Probed> {
  const missing = (reason: string): Probed => ({
    status: { available: false, name: 'bubblewrap', reason },
    disableUserns: false,
  });
  if (bwrap === null) return missing('bwrap (bubblewrap) is not installed: it is not on PATH');
  const version = await runBwrap(bwrap, ['--version'], null);
  if (!version.ok) return missing(`bwrap at ${bwrap} does not run: ${version.out}`);
  const numbers = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(version.out)?.slice(1).map(Number) ?? [];
  const canDisable = atLeast(numbers, DISABLE_USERNS_SINCE);
  const first = await trial(bwrap, shell, canDisable);
  let userns: 'disabled' | 'old' | 'refused' = canDisable ? 'disabled' : 'old';
  if (first !== null) {
    if (!canDisable || (await trial(bwrap, shell, false)) !== null)
      return missing(`bwrap at ${bwrap} cannot make a sandbox here: ${first}`);
    userns = 'refused';
  }
  return {
    status: {
      available: true,
      name: version.out.split('\n')[0] || 'bubblewrap',
      summary: summaryOf(userns, unixSocketFilter(process.arch) !== null),
    },
    disableUserns: userns === 'disabled',
  };
}

/**
 * A bubblewrap sandbox. `probe` runs bwrap once (per binary, per process) with every option a
 * command gets, so a machine where it cannot make namespaces (a container without the privilege,
 * a kernel or AppArmor that forbids user namespaces) reports unavailable with bwrap's own words.
 */
export function createBubblewrapSandbox(options: BubblewrapOptions = {}): Sandbox {
  const bwrap = options.bwrapPath ?? findOnPath('bwrap');
  const shell = options.shell ?? '/bin/sh';
  const nodePath = options.nodePath ?? process.execPath;
  const key = bwrap ?? '';
  let probed: Probed | null = null;
  const filter = unixSocketFilter(process.arch);
  return {
    probe: async () => {
      let pending = probes.get(key);
      if (pending === undefined) {
        pending = probe(bwrap, shell);
        probes.set(key, pending);
      }
      probed = await pending;
      return probed.status;
    },
    launch: (request): SandboxLaunch => {
      if (bwrap === null || probed === null || !probed.status.available)
        throw new Error('the bubblewrap sandbox was launched before a probe found it available');
      const needs = request.network === 'allowList' ? [dirname(nodePath)] : [];
      const args = [...namespaceArgs(request.network, probed.disableUserns), ...mountArgs(request, needs)];
      if (filter) args.push('--seccomp', '3');
      args.push('--chdir', request.cwd, '--', shell, '-c');
      if (request.network !== 'allowList') {
        args.push(LIFELINE_WATCH, shell, request.command);
        return { file: bwrap, args, cwd: request.cwd, env: request.env, fd3: filter, lifeline: true, channel: false };
      }
      args.push(BRIDGED_WATCH, shell, request.command, nodePath, BRIDGE_SOURCE);
      const env = { ...request.env, ...proxyEnvironment(`http://127.0.0.1:${SANDBOX_PROXY_PORT}`) };
      return { file: bwrap, args, cwd: request.cwd, env, fd3: filter, lifeline: true, channel: true };
    },
  };
}
