/**
 * Long-lived processes in a task's sandbox with piped standard input and output: the stdio MCP
 * servers Foreman starts for a task. They get the same launch as the task's commands (the sandbox,
 * its scope and network, the allow-listed environment: processRunner.ts's `launchFor`), their own
 * process group, and the same kill sequence; the lifeline makes them die with Foreman.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess, StdioOptions } from 'node:child_process';
import type { Duplex, Writable } from 'node:stream';
import { errorMessage } from '../core/errors';
import type { ServerProcess } from '../core/ports';
import { describeSandboxState, sandboxState } from '../core/sandbox';
import { createGroupKiller, launchFor, spawnTurn } from './processRunner';
import type { ProcessRunnerOptions } from './processRunner';

/** Start `command` (a shell line) as a server in the runner's sandbox; an error in words when it cannot. */
export async function startServerProcess(
  runner: ProcessRunnerOptions,
  command: string,
  options: { cwd: string; env?: Record<string, string> },
): Promise<ServerProcess | { error: string }> {
  if (runner.sandbox !== null) {
    const status = await runner.sandbox.probe();
    if (!status.available) return { error: describeSandboxState(sandboxState('on', status)) };
  }
  await spawnTurn();
  const launch = launchFor(runner, command, { cwd: options.cwd, timeoutMs: 0, env: options.env });
  const proxy = runner.proxy ?? null;
  if (launch.channel && proxy === null) return { error: "an allow-listed network needs the task's network proxy" };
  const stdio: StdioOptions = ['pipe', 'pipe', 'pipe', launch.fd3 === null ? 'ignore' : 'pipe'];
  if (launch.lifeline || launch.channel) stdio.push(launch.lifeline ? 'pipe' : 'ignore');
  if (launch.channel) stdio.push('pipe');
  let child: ChildProcess;
  try {
    child = spawn(launch.file, launch.args, { cwd: launch.cwd, env: launch.env, detached: true, stdio });
  } catch (e) {
    return { error: `failed to start: ${errorMessage(e)}` };
  }
  const fd3 = child.stdio[3] as Writable | null | undefined;
  if (launch.fd3 !== null && fd3) {
    fd3.on('error', () => undefined);
    fd3.end(Buffer.from(launch.fd3));
  }
  const lifeline = launch.lifeline ? (child.stdio[4] as Writable | null) : null;
  lifeline?.on('error', () => undefined);
  const channel = launch.channel ? ((child.stdio as readonly unknown[])[5] as Duplex | null) : null;
  if (channel) proxy?.attach(channel);
  return wrap(child, () => {
    channel?.destroy();
    lifeline?.destroy();
  });
}

function wrap(child: ChildProcess, release: () => void): ServerProcess {
  let exited: { code: number | null; signal: string | null; error: string | null } | null = null;
  const exitListeners: ((e: NonNullable<typeof exited>) => void)[] = [];
  const killer = createGroupKiller(child, () => end(child.exitCode, child.signalCode ?? 'SIGKILL', null));
  const end = (code: number | null, signal: string | null, error: string | null): void => {
    if (exited) return;
    exited = { code, signal, error };
    killer.dispose();
    release();
    for (const l of exitListeners) l(exited);
  };
  child.stdin?.on('error', () => undefined);
  child.on('error', (e) => {
    if (child.pid === undefined) end(null, null, errorMessage(e));
  });
  // The server's shell is gone: whatever it left in its group goes too.
  child.on('exit', () => killer.kill());
  child.on('close', (code, signal) => end(code, signal, null));
  return {
    pid: child.pid ?? null,
    write: (data) => (exited || !child.stdin?.writable ? false : child.stdin.write(data)),
    onStdout: (l) => child.stdout?.on('data', (c: Buffer) => l(c)),
    onStderr: (l) => child.stderr?.on('data', (c: Buffer) => l(c)),
    onExit: (l) => {
      if (exited) l(exited);
      else exitListeners.push(l);
    },
    kill: () => {
      child.stdin?.destroy();
      killer.kill();
    },
  };
}
