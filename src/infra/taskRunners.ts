/**
 * The runners of a repository's tasks: each task's processes run in the sandbox with its worktree
 * and a scratch folder of its own (temporary files, caches, home) under the run's state folder,
 * made empty when the task's runner opens and removed when it closes.
 */
import { mkdir, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskRunner } from '../core/ports';
import { sandboxState } from '../core/sandbox';
import type { Sandbox, SandboxScope, SandboxSettings, SandboxState } from '../core/sandbox';
import { createProcessRunner } from './processRunner';

/** Where one task's processes run. */
export interface TaskPlace {
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
  /** The runner of a task; its scratch folder is made afresh (a crash's leftovers are removed). */
  open(place: TaskPlace): Promise<TaskRunner>;
}

/** Options of `createTaskRunners`. */
export interface TaskRunnersOptions {
  settings: SandboxSettings;
  /** The sandbox used while `settings.mode` is `on`. */
  sandbox: Sandbox;
  /** The environment agent environments are picked from. Default: `process.env`. */
  parentEnv?: Readonly<Record<string, string | undefined>>;
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

/** Task runners with the user's sandbox settings. */
export function createTaskRunners(options: TaskRunnersOptions): TaskRunners {
  const { settings, sandbox } = options;
  return {
    state: async () => sandboxState(settings.mode, await sandbox.probe()),
    open: async (place) => {
      const scope = placeScope(place);
      await rm(place.scratch, { recursive: true, force: true });
      for (const dir of [scope.tmp, scope.cache, scope.home]) await mkdir(dir, { recursive: true, mode: 0o700 });
      const runner = createProcessRunner({
        sandbox: settings.mode === 'on' ? sandbox : null,
        scope,
        network: settings.network,
        envNames: settings.env,
        parentEnv: options.parentEnv,
      });
      return {
        run: (command, runOptions) => runner.run(command, runOptions),
        close: () => rm(place.scratch, { recursive: true, force: true }),
      };
    },
  };
}
