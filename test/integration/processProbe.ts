/** A test helper shared by the tests that prove processes are gone. */
import { execFileSync } from 'node:child_process';

/** True when the pid no longer runs (gone, or a zombie nobody reaped yet: PID 1 here may not reap). */
export function isDead(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    // ESRCH: no such process.
    return true;
  }
  try {
    return execFileSync('ps', ['-o', 'stat=', '-p', String(pid)], { encoding: 'utf8' })
      .trim()
      .startsWith('Z');
  } catch {
    // ps exits 1 when the pid vanished between the two checks.
    return true;
  }
}
