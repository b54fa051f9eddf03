/**
 * Taking a run back from a Foreman that died. Agent commands, checks and set-up commands run in
 * their task's worktree; when the Foreman that started them was killed (kill -9, a crash, an
 * older version without the OS sandbox), they can outlive it. Once this process holds the run's
 * lock, anything still working inside the run's worktrees belongs to nobody, and is killed with
 * its process group. Linux only: it reads /proc. Elsewhere it finds nothing.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { sep } from 'node:path';
import { processIds, readStat } from './processTree';

/** A process that was killed because it still worked inside a directory being taken back. */
export interface ReapedProcess {
  pid: number;
  /** Its command line, cut to 120 characters. */
  command: string;
}

/** This process and its ancestors, which are never touched. */
function ownLine(): Set<number> {
  const line = new Set<number>();
  for (let pid = process.pid; pid > 1 && !line.has(pid); pid = readStat(pid)?.ppid ?? 0) line.add(pid);
  return line;
}

function cwdOf(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    return null; // gone, or not ours to look at
  }
}

function commandOf(pid: number): string {
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
    return text.length > 120 ? `${text.slice(0, 119)}…` : text;
  } catch {
    return '';
  }
}

/**
 * Kill (SIGKILL) every process whose working directory is `dir` or lies below it, and the process
 * group each leads, except this process, its ancestors and their group. Returns what was killed.
 */
export function reapProcessesIn(dir: string): ReapedProcess[] {
  const ids = processIds();
  if (ids === null) return []; // no /proc: not Linux
  const pids = ids.map(Number);
  const spared = ownLine();
  const ownGroup = readStat(process.pid)?.pgrp;
  const reaped: ReapedProcess[] = [];
  for (const pid of pids) {
    if (spared.has(pid)) continue;
    const cwd = cwdOf(pid);
    if (cwd === null || (cwd !== dir && !cwd.startsWith(dir + sep))) continue;
    const command = commandOf(pid);
    const group = readStat(pid)?.pgrp;
    try {
      if (group !== undefined && group > 1 && group !== ownGroup) process.kill(-group, 'SIGKILL');
      else process.kill(pid, 'SIGKILL');
      reaped.push({ pid, command });
    } catch {
      // It ended on its own meanwhile.
    }
  }
  return reaped;
}
