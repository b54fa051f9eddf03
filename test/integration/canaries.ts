/**
 * What the tests that try to get past the sandbox put around it, and how they look afterwards:
 * canary secrets (in Foreman's environment, in the checkout's untracked files, beside the
 * repository and in the home folder), a TCP listener on 127.0.0.1 and a Unix socket that count
 * every connection, digests of whole trees (content, mode and kind of every entry), and the
 * processes still working in a folder.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { dirname, join, relative } from 'node:path';
import type { TempRepo } from './tempRepo';

/** A fresh canary: one random word that appears in every secret planted. */
export function newCanary(): string {
  return `canary${randomBytes(8).toString('hex')}`;
}

/** Secrets in Foreman's environment, under names no deny-list would catch, and Foreman's key. */
export function canaryEnv(canary: string): Record<string, string> {
  return {
    FOREMAN_TEST_CANARY: canary,
    DATABASE_URL: `postgres://u:${canary}@db.internal:5432/app`,
    AWS_SECRET_ACCESS_KEY: canary,
    FOREMAN_API_KEY: `sk-${canary}`,
  };
}

/** Where `plantCanaryFiles` put the canary. */
export interface PlantedFiles {
  /** A home folder of the test's, holding `.ssh/id_ed25519` and `.aws/credentials`. */
  home: string;
  /** Every file holding the canary, absolute. */
  files: string[];
}

/**
 * Plant the canary in the checkout's untracked files (`.env` at the root, `secrets/notes.txt`), in
 * a folder beside the repository, and in a home folder of the test's (`<tmp>/home`), which the
 * caller makes Foreman's by setting HOME.
 */
export function plantCanaryFiles(repo: TempRepo, canary: string): PlantedFiles {
  const home = join(repo.tmp, 'home');
  const files = [
    join(repo.root, '.env'),
    join(repo.root, 'secrets', 'notes.txt'),
    join(repo.tmp, 'beside', 'secret.txt'),
    join(home, '.ssh', 'id_ed25519'),
    join(home, '.aws', 'credentials'),
  ];
  for (const file of files) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `SECRET=${canary}\n`);
  }
  return { home, files };
}

/**
 * Path → `kind mode hash` of every entry under `dir` (directories and links included, so a new
 * empty folder or a changed mode shows), leaving out the paths `skip` accepts and what is below them.
 */
export function treeDigest(dir: string, skip: (path: string) => boolean = () => false): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (skip(p)) continue;
      const s = lstatSync(p);
      const mode = (s.mode & 0o7777).toString(8);
      if (s.isDirectory()) {
        out.set(relative(dir, p), `dir ${mode}`);
        walk(p);
      } else if (s.isFile()) {
        out.set(relative(dir, p), `file ${mode} ${createHash('sha1').update(readFileSync(p)).digest('hex')}`);
      } else if (s.isSymbolicLink()) out.set(relative(dir, p), `link ${readlinkSync(p)}`);
      else out.set(relative(dir, p), `other ${mode}`);
    }
  };
  walk(dir);
  return out;
}

/** What differs between two digests, one line per path. */
export function digestChanges(before: Map<string, string>, after: Map<string, string>): string[] {
  const changes: string[] = [];
  for (const [path, was] of before) {
    const now = after.get(path);
    if (now === undefined) changes.push(`${path}: removed (was ${was})`);
    else if (now !== was) changes.push(`${path}: ${was} → ${now}`);
  }
  for (const [path, now] of after) if (!before.has(path)) changes.push(`${path}: added (${now})`);
  return changes;
}

/** The state of each of `paths` (absolute, possibly missing): `missing`, or its digest line. */
export function pathStates(paths: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const path of paths) {
    if (!existsSync(path)) {
      out.set(path, 'missing');
      continue;
    }
    const s = lstatSync(path);
    const content = s.isFile() ? createHash('sha1').update(readFileSync(path)).digest('hex') : '';
    out.set(
      path,
      `${s.isDirectory() ? 'dir' : s.isFile() ? 'file' : 'other'} ${(s.mode & 0o7777).toString(8)} ${content}`,
    );
  }
  return out;
}

/** A TCP listener on 127.0.0.1 and a Unix socket, each counting the connections it accepted. */
export interface Listeners {
  port: number;
  socketPath: string;
  /** Connections accepted so far: [tcp, unix]. */
  counts(): [number, number];
  /** Forget the connections counted so far (after the test's own control connections). */
  reset(): void;
  close(): Promise<void>;
}

/** Start the listeners; the socket is `<dir>/agent.sock`. */
export async function startListeners(dir: string): Promise<Listeners> {
  mkdirSync(dir, { recursive: true });
  const counts: [number, number] = [0, 0];
  const sockets = new Set<Socket>();
  const make = (i: 0 | 1): Server =>
    createServer((c) => {
      counts[i]++;
      sockets.add(c);
      c.on('close', () => sockets.delete(c));
      c.on('error', () => undefined);
      c.end('hello from the listener\n');
    });
  const tcp = make(0);
  const unix = make(1);
  const socketPath = join(dir, 'agent.sock');
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  await new Promise<void>((resolve) => unix.listen(socketPath, resolve));
  return {
    port: (tcp.address() as { port: number }).port,
    socketPath,
    counts: () => [counts[0], counts[1]],
    reset: () => {
      counts[0] = 0;
      counts[1] = 0;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all([tcp, unix].map((s) => new Promise((resolve) => s.close(resolve))));
    },
  };
}

/** Prove the listeners count: connect to each from this process once, then forget those. */
export async function controlConnections(l: Listeners): Promise<void> {
  const { connect } = await import('node:net');
  for (const target of [{ port: l.port, host: '127.0.0.1' }, { path: l.socketPath }]) {
    await new Promise<void>((resolve, reject) => {
      const c = connect(target as never, () => c.end());
      c.resume();
      c.on('close', () => resolve());
      c.on('error', reject);
    });
  }
  const [tcp, unix] = l.counts();
  if (tcp !== 1 || unix !== 1) throw new Error(`the listeners did not count the control connections: ${tcp}, ${unix}`);
  l.reset();
}

/**
 * Processes (other than this one) whose working directory or command line lies in `dir`, as
 * `pid: command line`. A sandboxed process's working directory is its worktree, at the same path.
 */
export function processesIn(dir: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${name}/cwd`);
      } catch {
        // A zombie, or a process of another user: its command line still tells.
      }
      if (cwd === dir || cwd.startsWith(`${dir}/`) || cmdline.includes(dir)) found.push(`${name}: ${cmdline}`);
    } catch {
      // It ended between the listing and the read.
    }
  }
  return found;
}
