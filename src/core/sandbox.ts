/**
 * The sandbox port: how a process Foreman starts on an agent's behalf (an agent's command, a check,
 * a worktree's set-up command) is confined. Foreman's own git never goes through it. The Linux
 * implementation is src/infra/bubblewrap.ts; a container or a remote executor can take its place
 * by implementing `Sandbox`.
 */
import { narrowHostPatterns } from './hostPatterns';
import type { HostPattern } from './hostPatterns';

/**
 * What one sandboxed process may touch. Contract: everything is read-only (the system's /tmp
 * included) except `worktree`, `tmp`, `cache` and `home`; `readOnly` paths stay unwritable even
 * inside the worktree, while the task's own folders stay writable even inside a `readOnly` path
 * (they live in the repository's git directory). The `hidden` folders cannot be read at all: each
 * shows empty, except what of the scope lies inside it (the worktree, the task's folders, the
 * `readOnly` paths) and the folders `sandboxView` (core/sandboxView.ts) brings back for the
 * command's environment (its PATH, and paths its variables name).
 */
export interface SandboxScope {
  /** The task's worktree: read and write. */
  worktree: string;
  /** The task's own temporary folder (TMPDIR). */
  tmp: string;
  /** The task's own cache folder (XDG_CACHE_HOME). */
  cache: string;
  /** The task's own home folder (HOME). */
  home: string;
  /** Paths the process must be able to read and never write: the repository's git directory. */
  readOnly: string[];
  /**
   * Folders the process must not read: the developer's checkout (its untracked `.env` and the
   * like), Foreman's home folder (keys, tokens, shell history) and the system's temporary folder.
   */
  hidden: string[];
}

/**
 * The network a sandboxed process gets. `none`: no network at all, not even the host's loopback.
 * `allowList`: the sandbox keeps its own empty network; its one way out is a channel to a
 * filtering proxy of Foreman's (see `SandboxLaunch.channel`), reached inside at
 * `http://127.0.0.1:SANDBOX_PROXY_PORT`, which lets through only the hosts of
 * `SandboxSettings.allowedHosts`. `host`: the host's network, unfiltered.
 */
export type SandboxNetwork = 'none' | 'allowList' | 'host';

/** The networks from strictest to widest: a workspace setting may move left on this list, never right. */
export const SANDBOX_NETWORKS: readonly SandboxNetwork[] = ['none', 'allowList', 'host'];

/**
 * The port the proxy's bridge listens on inside an allow-listed sandbox, on 127.0.0.1. Every
 * command has a network namespace of its own, so one port serves them all.
 */
export const SANDBOX_PROXY_PORT = 3128;

/**
 * One decision of an allow-listed sandbox's proxy, for the log and the audit trail: which host and
 * port a process in the sandbox asked for, and whether it got through.
 */
export interface NetworkDecision {
  /** The host as the request named it (lower case, no brackets). */
  host: string;
  port: number;
  allowed: boolean;
  /** `connect`: a tunnel (HTTPS and anything else over CONNECT); `http`: a plain HTTP request forwarded. */
  via: 'connect' | 'http';
  /** Why, in words: the pattern that allowed it, or why it was refused. */
  reason: string;
}

/** A proxy decision with the task whose sandbox asked (what the audit trail records). */
export interface TaskNetworkDecision extends NetworkDecision {
  runId: string;
  taskId: string;
}

/** One process to confine. */
export interface SandboxRequest {
  /** A shell command line, run as `/bin/sh -c command`. */
  command: string;
  /** Where it starts; inside `scope.worktree`. */
  cwd: string;
  scope: SandboxScope;
  network: SandboxNetwork;
  /** Its whole environment (already allow-listed: see core/agentEnv.ts); nothing is inherited. */
  env: Record<string, string>;
}

/**
 * What to spawn for a request. The caller spawns `file` with `args` in `cwd` with exactly `env`;
 * when `fd3` is set, it opens a pipe as the child's descriptor 3, writes those bytes and closes it;
 * when `lifeline` is set, it opens a pipe as descriptor 4 and holds its own end open, never
 * writing, until the command has ended (standard input stays empty, as for any agent process).
 * Contract: when the spawned process dies, or the caller dies and its lifeline end closes, every
 * process the command started dies too, whatever it forked or detached.
 */
export interface SandboxLaunch {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** Bytes the sandbox itself reads on its descriptor 3 (a compiled seccomp filter), or null. */
  fd3: Uint8Array | null;
  /** Whether descriptor 4 must be the caller's lifeline (see above). */
  lifeline: boolean;
  /**
   * Whether descriptor 5 must be a stream socket whose other end the caller gives to the task's
   * network proxy (network `allowList`): the sandbox's only way out. Connections to
   * 127.0.0.1:SANDBOX_PROXY_PORT inside arrive on it, multiplexed (src/infra/proxyChannel.ts).
   */
  channel: boolean;
}

/** Whether a sandbox can run here, found by trying it once. */
export type SandboxStatus =
  | {
      available: true;
      /** What confines the processes, with its version (`bubblewrap 0.8.0`). */
      name: string;
      /** What it guarantees, in a few words, for the CLI's first line and the panel. */
      summary: string;
    }
  | {
      available: false;
      name: string;
      /** Why not, in words a person can act on (`bwrap not found at /usr/bin/bwrap`). */
      reason: string;
    };

/**
 * An OS sandbox. Contract: `probe` tries the sandbox once per implementation and remembers the
 * answer; `launch` is called only after `probe` said it is available, and returns a process that
 * writes nowhere but the request's scope, reaches the network only as the request says, sees its
 * own processes and /proc (never Foreman's environment or memory), and takes every descendant
 * with it when it dies.
 */
export interface Sandbox {
  probe(): Promise<SandboxStatus>;
  launch(request: SandboxRequest): SandboxLaunch;
}

/** How agent processes run, as the user chose: in the sandbox (the default), or, by choice, without. */
export type SandboxMode = 'on' | 'off';

/** The user's sandbox settings (`foreman.sandbox.*`, foreman.json `sandbox`). */
export interface SandboxSettings {
  mode: SandboxMode;
  network: SandboxNetwork;
  /**
   * The hosts an `allowList` network reaches (src/core/hostPatterns.ts: `registry.npmjs.org`,
   * `*.pythonhosted.org`, `host:port`); with none, `allowList` is the same as `none`.
   */
  allowedHosts: string[];
  /** Names of further variables of Foreman's environment that agent processes get. */
  env: string[];
}

export const DEFAULT_SANDBOX_SETTINGS: SandboxSettings = { mode: 'on', network: 'none', allowedHosts: [], env: [] };

/** The network settings alone. */
export type SandboxNetworkSettings = Pick<SandboxSettings, 'network' | 'allowedHosts'>;

/** A network setting with its hosts parsed. */
export interface NetworkChoice {
  network: SandboxNetwork;
  allowedHosts: HostPattern[];
}

/** What one workspace level (VS Code's workspace or folder settings, foreman.json) asks of the network. */
export interface NetworkLevel {
  network?: SandboxNetwork;
  allowedHosts?: HostPattern[];
}

/**
 * The user's network narrowed by workspace levels, which may only tighten: a level's network
 * counts where it is stricter (none < allowList < host), and its hosts narrow the hosts allowed so
 * far (where the user allowed the whole network, the first level's hosts are all allowed).
 * `widerNetwork` and `ignoredHosts` are what the levels asked beyond the user, for a warning.
 */
export function narrowNetwork(
  user: NetworkChoice,
  levels: readonly NetworkLevel[],
): NetworkChoice & { widerNetwork: SandboxNetwork | null; ignoredHosts: HostPattern[] } {
  const rank = (n: SandboxNetwork): number => SANDBOX_NETWORKS.indexOf(n);
  let network = user.network;
  let widerNetwork: SandboxNetwork | null = null;
  // null: every host (the user's network is the host's).
  let hosts: HostPattern[] | null = user.network === 'host' ? null : user.allowedHosts;
  const ignoredHosts: HostPattern[] = [];
  for (const level of levels) {
    if (level.network !== undefined && rank(level.network) < rank(network)) network = level.network;
    if (level.network !== undefined && rank(level.network) > rank(user.network)) widerNetwork ??= level.network;
    if (level.allowedHosts === undefined) continue;
    if (hosts === null) hosts = level.allowedHosts;
    else {
      const narrowed = narrowHostPatterns(hosts, level.allowedHosts);
      hosts = narrowed.patterns;
      ignoredHosts.push(...narrowed.ignored);
    }
  }
  if (network !== 'allowList') return { network, allowedHosts: [], widerNetwork, ignoredHosts: [] };
  return { network, allowedHosts: hosts ?? [], widerNetwork, ignoredHosts };
}

/** The network a command really gets: an allow-list with no hosts is no network. */
export function effectiveNetwork(settings: SandboxNetworkSettings): SandboxNetwork {
  return settings.network === 'allowList' && settings.allowedHosts.length === 0 ? 'none' : settings.network;
}

/** The network, in words, for the sandbox line of the CLI and the panel. */
export function describeNetwork(settings: SandboxNetworkSettings): string {
  switch (settings.network) {
    case 'none':
      return 'network: none';
    case 'allowList':
      return settings.allowedHosts.length === 0
        ? 'network: none (sandbox.allowedHosts is empty)'
        : `network: only ${settings.allowedHosts.join(', ')}, through Foreman's proxy (ports 80 and 443 unless a host names its port)`;
    case 'host':
      return "network: the host's, unfiltered";
  }
}

/**
 * Where agent processes stand, for the CLI's first line and the panel: sandboxed, unsandboxed
 * because the user turned the sandbox off, or refused because no sandbox can run here.
 */
export type SandboxState =
  | {
      kind: 'on';
      name: string;
      summary: string;
      /** The network commands get, in words (`describeNetwork`). */
      network: string;
    }
  | { kind: 'off'; reason: string }
  | { kind: 'unavailable'; reason: string };

/** The advice that follows every refusal for want of a sandbox. */
export const NO_SANDBOX_ADVICE =
  'Install bubblewrap (Debian and Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap), or, to run agent commands unconfined as your own user, set foreman.sandbox.mode to "off" (CLI: --no-sandbox; foreman.json: "sandbox": { "mode": "off" }).';

/** The state for a mode, a probe's answer and the network settings (default: no network). */
export function sandboxState(
  mode: SandboxMode,
  status: SandboxStatus,
  network: SandboxNetworkSettings = { network: 'none', allowedHosts: [] },
): SandboxState {
  if (mode === 'off')
    return {
      kind: 'off',
      reason:
        'the sandbox is turned off (sandbox.mode "off", or --no-sandbox): agent commands run unconfined, as your own user',
    };
  if (status.available)
    return { kind: 'on', name: status.name, summary: status.summary, network: describeNetwork(network) };
  return { kind: 'unavailable', reason: `no sandbox can run here: ${status.reason}` };
}

/** One line for people: what confines agent commands, or why nothing does. */
export function describeSandboxState(state: SandboxState): string {
  switch (state.kind) {
    case 'on':
      return `Sandbox: ${state.name}: ${state.summary}; ${state.network}.`;
    case 'off':
      return `Sandbox OFF: ${state.reason}.`;
    case 'unavailable':
      return `Sandbox unavailable: ${state.reason}. Agent commands are refused. ${NO_SANDBOX_ADVICE}`;
  }
}
