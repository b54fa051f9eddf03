/**
 * The processes a command started that left its process group, found through /proc while their
 * parent links still lead back to the command. Killing the command's group does not reach them:
 * a sandbox's namespace init (bubblewrap makes one in a session of its own) and anything an agent
 * ran with `setsid`.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** A process as /proc/<pid>/stat describes it. */
export interface ProcStat {
  pid: number;
  ppid: number;
  pgrp: number;
}

/** `/proc/<pid>/stat`: the fields after the command name, which may hold spaces and parentheses. */
export function readStat(pid: string | number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [, ppid, pgrp] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid: Number(pid), ppid: Number(ppid), pgrp: Number(pgrp) };
  } catch {
    // The process ended between the listing and the read.
    return null;
  }
}

/** The ids of the running processes, or null where there is no /proc (not Linux). */
export function processIds(): string[] | null {
  try {
    return readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return null;
  }
}

/**
 * Descendants of `root` (the leader of its own process group) that are in another process group,
 * and the groups they lead or joined. Empty where there is no /proc (not Linux).
 */
export function detachedDescendants(root: number): { pids: number[]; groups: number[] } {
  const names = processIds();
  // Without /proc nothing can be found, and the group kill is all there is.
  if (names === null) return { pids: [], groups: [] };
  const children = new Map<number, ProcStat[]>();
  for (const name of names) {
    const stat = readStat(name);
    if (stat === null) continue;
    const siblings = children.get(stat.ppid);
    if (siblings) siblings.push(stat);
    else children.set(stat.ppid, [stat]);
  }
  const pids: number[] = [];
  const groups = new Set<number>();
  const queue = [root];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of children.get(pid) ?? []) {
      queue.push(child.pid);
      if (child.pgrp === root) continue;
      pids.push(child.pid);
      groups.add(child.pgrp);
    }
  }
  return { pids, groups: [...groups] };
}
