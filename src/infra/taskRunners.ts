/**
 * The runners of a repository's tasks: each task's processes run in the sandbox with its worktree
 * and a scratch folder of its own (temporary files, caches, home) under the run's state folder,
 * made empty when the task's runner opens and removed when it closes. With an allow-listed
 * network, each runner has its own filtering proxy (networkProxy.ts), closed with the runner.
 */
import { mkdir, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentEnvironment, proxyEnvironment } from '../core/agentEnv';
import type { SandboxProfile } from '../core/journal';
import type { TaskRunner } from '../core/ports';
import { effectiveNetwork, SANDBOX_PROXY_PORT, sandboxState } from '../core/sandbox';
import type {
  NetworkDecision,
  Sandbox,
  SandboxNetwork,
  SandboxScope,
  SandboxSettings,
  SandboxState,
  TaskNetworkDecision,
} from '../core/sandbox';
import { createNetworkProxy } from './networkProxy';
import type { NetworkProxy, NetworkProxyOptions } from './networkProxy';
import { createProcessRunner } from './processRunner';
import { startServerProcess } from './serverProcess';

/** Where one task's processes run. */
export interface TaskPlace {
  /** The run and the task (or the integration) the processes work for, named in network decisions. */
  runId: string;
  taskId: string;
  /** The task's worktree. */
  worktree: string;
  /** The task's scratch folder (`.git/foreman/runs/<run>/tmp/<task>`), holding tmp/, cache/ and home/. */
  scratch: string;
  /** What they may read and never write: the repository's git directory. */
  readOnly: string[];
  /**
   * What they may not read: the developer's checkout. Foreman's home folder and the system's
   * temporary folder are added by the runners (see `placeScope`).
   */
  hidden: string[];
}

/** Opens task runners, all confined the same way. */
export interface TaskRunners {
  /** Where agent processes stand: sandboxed, unsandboxed by the user's choice, or refused. */
  state(): Promise<SandboxState>;
  /**
   * The runner of a task; its scratch folder is made afresh (a crash's leftovers are removed).
   * `onNetwork` is told of this runner's proxy decisions (as `onNetworkDecision` is, too).
   */
  open(place: TaskPlace, onNetwork?: (decision: NetworkDecision) => void): Promise<TaskRunner>;
}

/** Options of `createTaskRunners`. */
export interface TaskRunnersOptions {
  settings: SandboxSettings;
  /** The sandbox used while `settings.mode` is `on`. */
  sandbox: Sandbox;
  /** The environment agent environments are picked from. Default: `process.env`. */
  parentEnv?: Readonly<Record<string, string | undefined>>;
  /**
   * Told of every host an allow-listed sandbox asks its proxy for, allowed or refused, with the
   * run and task: the hook for the log and the audit trail. Must not throw.
   */
  onNetworkDecision?: (decision: TaskNetworkDecision) => void;
  /** Options of each task's proxy: tests give a resolver that maps their names to 127.0.0.1. */
  proxy?: Pick<NetworkProxyOptions, 'resolve' | 'connectTimeoutMs'>;
}

/**
 * The scope of a place: its worktree writable, with tmp/, cache/ and home/ of its scratch folder;
 * hidden, the place's own hidden folders, Foreman's home folder (`os.homedir()`, from HOME) and
 * the system's temporary folder (`os.tmpdir()` and /tmp).
 */
export function placeScope(place: TaskPlace): SandboxScope {
  return {
    worktree: place.worktree,
    tmp: join(place.scratch, 'tmp'),
    cache: join(place.scratch, 'cache'),
    home: join(place.scratch, 'home'),
    readOnly: place.readOnly,
    hidden: [...new Set([...place.hidden, homedir(), tmpdir(), '/tmp'])],
  };
}

/** The proxy of one task's runner, telling its decisions with the task's names. */
function taskProxy(
  options: TaskRunnersOptions,
  place: TaskPlace,
  onNetwork: ((decision: NetworkDecision) => void) | undefined,
): NetworkProxy {
  const tell = options.onNetworkDecision;
  return createNetworkProxy({
    ...options.proxy,
    allowedHosts: options.settings.allowedHosts,
    onDecision: (d) => {
      tell?.({ ...d, runId: place.runId, taskId: place.taskId });
      onNetwork?.(d);
    },
  });
}

/** Task runners with the user's sandbox settings. */
export function createTaskRunners(options: TaskRunnersOptions): TaskRunners {
  const { settings, sandbox } = options;
  return {
    state: async () => sandboxState(settings.mode, await sandbox.probe(), settings),
    open: async (place, onNetwork) => {
      const scope = placeScope(place);
      await rm(place.scratch, { recursive: true, force: true });
      for (const dir of [scope.tmp, scope.cache, scope.home]) await mkdir(dir, { recursive: true, mode: 0o700 });
      const network = effectiveNetwork(settings);
      const proxy = settings.mode === 'on' && network === 'allowList' ? taskProxy(options, place, onNetwork) : null;
      const runnerOptions = {
        sandbox: settings.mode === 'on' ? sandbox : null,
        scope,
        network,
        proxy,
        envNames: settings.env,
        parentEnv: options.parentEnv,
      };
      const runner = createProcessRunner(runnerOptions);
      return {
        profile: await profileOf(options, scope, network, proxy !== null),
        run: (command, runOptions) => runner.run(command, runOptions),
        startServer: (command, serverOptions) => startServerProcess(runnerOptions, command, serverOptions),
        close: async () => {
          await proxy?.close();
          await rm(place.scratch, { recursive: true, force: true });
        },
      };
    },
  };
}

/** How a scope's processes are confined, for the audit trail: never a variable's value. */
async function profileOf(
  options: TaskRunnersOptions,
  scope: SandboxScope,
  network: SandboxNetwork,
  proxied: boolean,
): Promise<SandboxProfile> {
  const { settings } = options;
  let confinement = 'off';
  if (settings.mode === 'on') {
    const status = await options.sandbox.probe();
    confinement = status.available ? status.name : `unavailable (${status.reason})`;
  }
  const proxyEnv = proxied ? proxyEnvironment(`http://127.0.0.1:${SANDBOX_PROXY_PORT}`) : {};
  const env = agentEnvironment(options.parentEnv ?? process.env, settings.env, scope, proxyEnv);
  return {
    confinement,
    network: network === 'allowList' ? `only ${settings.allowedHosts.join(', ')}, through Foreman's proxy` : network,
    writable: [scope.worktree, scope.tmp, scope.cache, scope.home],
    env: Object.keys(env).sort(),
  };
}
