/**
 * The sandbox port: how a process Foreman starts on an agent's behalf (an agent's command, a check,
 * a worktree's set-up command) is confined. Foreman's own git never goes through it. The Linux
 * implementation is src/infra/bubblewrap.ts; a container or a remote executor can take its place
 * by implementing `Sandbox`.
 */

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
 * `host`: the host's network, unfiltered. A filtering proxy with an allow-list of hosts would be a
 * third value; no implementation filters by host today, so none is offered.
 */
export type SandboxNetwork = 'none' | 'host';

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
  /** Names of further variables of Foreman's environment that agent processes get. */
  env: string[];
}

export const DEFAULT_SANDBOX_SETTINGS: SandboxSettings = { mode: 'on', network: 'none', env: [] };

/**
 * Where agent processes stand, for the CLI's first line and the panel: sandboxed, unsandboxed
 * because the user turned the sandbox off, or refused because no sandbox can run here.
 */
export type SandboxState =
  | { kind: 'on'; name: string; summary: string }
  | { kind: 'off'; reason: string }
  | { kind: 'unavailable'; reason: string };

/** The advice that follows every refusal for want of a sandbox. */
export const NO_SANDBOX_ADVICE =
  'Install bubblewrap (Debian and Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap), or, to run agent commands unconfined as your own user, set foreman.sandbox.mode to "off" (CLI: --no-sandbox; foreman.json: "sandbox": { "mode": "off" }).';

/** The state for a mode and a probe's answer. */
export function sandboxState(mode: SandboxMode, status: SandboxStatus): SandboxState {
  if (mode === 'off')
    return {
      kind: 'off',
      reason:
        'the sandbox is turned off (sandbox.mode "off", or --no-sandbox): agent commands run unconfined, as your own user',
    };
  if (status.available) return { kind: 'on', name: status.name, summary: status.summary };
  return { kind: 'unavailable', reason: `no sandbox can run here: ${status.reason}` };
}

/** One line for people: what confines agent commands, or why nothing does. */
export function describeSandboxState(state: SandboxState): string {
  switch (state.kind) {
    case 'on':
      return `Sandbox: ${state.name}: ${state.summary}.`;
    case 'off':
      return `Sandbox OFF: ${state.reason}.`;
    case 'unavailable':
      return `Sandbox unavailable: ${state.reason}. Agent commands are refused. ${NO_SANDBOX_ADVICE}`;
  }
}
