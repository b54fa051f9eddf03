/**
 * A run's lock: a file holding the pid of the process driving the run, so that two processes
 * never drive (resume, clean, apply) the same run at once. A lock whose process is gone is stale
 * and is taken over.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** The pid holding the lock at `path`, when that process is alive; null otherwise. */
export function lockHolder(path: string): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(path, 'utf8').trim());
  } catch {
    // No lock file: nobody holds it.
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (e) {
    // ESRCH: the process is gone (stale lock). EPERM: alive, owned by someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
}

/** Take the lock for this process; returns the pid of a live holder instead when there is one. */
export function acquireLock(path: string): { ok: true; release: () => void } | { ok: false; holder: number } {
  const holder = lockHolder(path);
  if (holder !== null && holder !== process.pid) return { ok: false, holder };
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, String(process.pid));
  return { ok: true, release: () => rmSync(path, { force: true }) };
}
