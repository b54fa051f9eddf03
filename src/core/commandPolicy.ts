/**
 * The command policy: which kinds of shell commands an agent may run. Pure: a shell line is split
 * into simple commands (through `;`, `&&`, `||`, `|`, newlines, `$(…)`, backticks, quotes, and
 * wrappers such as `sudo`, `env`, `xargs`, `bash -c '…'`), and each is matched against the rules of
 * five categories. This is a guard rail against an agent's mistakes, not a security boundary
 * against a hostile one (a command built from variables at run time cannot be seen here).
 */
import path from 'node:path';
import { MAX_DEPTH, splitCommands } from './shellWords';

/** A kind of command refused unless the user allows it. */
export type CommandCategory = 'recursive_delete' | 'git_history' | 'git_push' | 'network' | 'privilege';

/** Which categories the user allows. Everything outside the five categories is always allowed. */
export interface CommandPolicy {
  allow: CommandCategory[];
}

/** The default: no category allowed. */
export const DEFAULT_POLICY: CommandPolicy = { allow: [] };

/** Outcome of `checkCommand`. The message is written for the model and names the policy setting. */
export type CommandCheck = { allowed: true } | { allowed: false; category: CommandCategory; message: string };

/** One rule hit: the category, what the command does, and the simple command that did it. */
interface Finding {
  category: CommandCategory;
  what: string;
  words: string[];
}

const CATEGORY_TEXT: Record<CommandCategory, string> = {
  recursive_delete: 'deletes files recursively',
  git_history: 'rewrites or throws away git history or uncommitted work',
  git_push: 'pushes to a git remote',
  network: 'reaches the network',
  privilege: 'runs with elevated privileges',
};

/**
 * Decide whether `command` (a whole shell line) may run under `policy`. The first simple command
 * that falls in a category the policy does not allow makes the whole line refused.
 */
export function checkCommand(command: string, policy: CommandPolicy): CommandCheck {
  const findings: Finding[] = [];
  for (const words of splitCommands(command, 0)) analyse(words, 0, findings);
  const hit = findings.find((f) => !policy.allow.includes(f.category));
  if (!hit) return { allowed: true };
  return { allowed: false, category: hit.category, message: refusalMessage(hit, policy) };
}

function refusalMessage(hit: Finding, policy: CommandPolicy): string {
  const shown = hit.words.join(' ');
  const segment = shown.length > 120 ? `${shown.slice(0, 117)}...` : shown;
  const allowed = policy.allow.length ? policy.allow.join(', ') : 'none';
  return (
    `Refused by the command policy: \`${segment}\` ${hit.what}. ` +
    `Category '${hit.category}' (commands that ${CATEGORY_TEXT[hit.category]}) is not allowed (allowed: ${allowed}). ` +
    `Do the task without it, or say in your finish summary that it is needed; ` +
    `the user can allow it by adding '${hit.category}' to commandPolicy.allow.`
  );
}

// ---------------------------------------------------------------------------------------------
// Analysis of one simple command
// ---------------------------------------------------------------------------------------------

const KEYWORDS = new Set([
  'if',
  'then',
  'else',
  'elif',
  'fi',
  'do',
  'done',
  'while',
  'until',
  '!',
  '{',
  '}',
  'time',
  'exec',
  'command',
  'builtin',
  'nohup',
]);
const SHELLS = new Set(['sh', 'bash', 'zsh', 'dash', 'ksh', 'ash', 'fish']);
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/** Skip leading options of a wrapper; `withValue` lists options whose value is the next word. */
function skipOptions(args: string[], withValue: string[]): string[] {
  let i = 0;
  while (i < args.length && args[i].startsWith('-') && args[i] !== '-') {
    if (args[i] === '--') return args.slice(i + 1);
    i += withValue.includes(args[i]) ? 2 : 1;
  }
  return args.slice(i);
}

/** Apply wrappers (sudo, env, xargs, sh -c, eval, …) and the category rules to one simple command. */
function analyse(input: string[], depth: number, out: Finding[]): void {
  let words = input;
  while (words.length && (KEYWORDS.has(words[0]) || ASSIGNMENT.test(words[0]))) words = words.slice(1);
  if (!words.length || depth > MAX_DEPTH) return;
  const name = path.basename(words[0]);
  const args = words.slice(1);
  const inner = unwrap(name, args, words, out);
  if (inner) {
    if (inner.kind === 'words') analyse(inner.words, depth + 1, out);
    else for (const cmd of splitCommands(inner.script, depth + 1)) analyse(cmd, depth + 1, out);
    return;
  }
  applyRules(name, args, words, out);
}

type Inner = { kind: 'words'; words: string[] } | { kind: 'script'; script: string } | null;

function unwrap(name: string, args: string[], words: string[], out: Finding[]): Inner {
  switch (name) {
    case 'sudo':
    case 'doas':
    case 'pkexec':
    case 'runuser':
      out.push({ category: 'privilege', what: `runs a command as another user with ${name}`, words });
      return { kind: 'words', words: skipOptions(args, ['-u', '-g', '-C', '-D', '-h', '-p', '-r', '-t', '-U', '-T']) };
    case 'su': {
      out.push({ category: 'privilege', what: 'switches user with su', words });
      const c = args.indexOf('-c');
      return c >= 0 && args[c + 1] ? { kind: 'script', script: args[c + 1] } : null;
    }
    case 'env':
      return { kind: 'words', words: skipOptions(args, ['-u', '-C', '--unset', '--chdir']) };
    case 'xargs':
      return {
        kind: 'words',
        words: skipOptions(args, [
          '-I',
          '-n',
          '-P',
          '-L',
          '-d',
          '-E',
          '-s',
          '-a',
          '--max-args',
          '--max-procs',
          '--delimiter',
        ]),
      };
    case 'nice':
    case 'ionice':
    case 'stdbuf':
      return { kind: 'words', words: skipOptions(args, ['-n', '-c', '-i', '-o', '-e']) };
    case 'timeout': {
      const rest = skipOptions(args, ['-s', '-k', '--signal', '--kill-after']);
      return { kind: 'words', words: rest.slice(1) };
    }
    case 'eval':
      return { kind: 'script', script: args.join(' ') };
    default:
      return SHELLS.has(name) ? shellScript(args) : null;
  }
}

/** `bash -c 'script'`, `sh -lc "script"`: the script; any other shell invocation: nothing to see. */
function shellScript(args: string[]): Inner {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('-')) return null;
    if (/^-[a-zA-Z]*c[a-zA-Z]*$/.test(a) && args[i + 1] !== undefined) return { kind: 'script', script: args[i + 1] };
  }
  return null;
}

/** True when a short-option cluster (`-rf`) holds `letter` or a long option equals one of `longs`. */
function hasFlag(args: string[], letter: string | null, ...longs: string[]): boolean {
  return args.some(
    (a) =>
      (letter !== null && /^-[A-Za-z]+$/.test(a) && a.includes(letter)) ||
      longs.some((l) => a === l || a.startsWith(`${l}=`)),
  );
}

function applyRules(name: string, args: string[], words: string[], out: Finding[]): void {
  const add = (category: CommandCategory, what: string): void => {
    out.push({ category, what, words });
  };
  if (name === 'rm' && (hasFlag(args, 'r') || hasFlag(args, 'R', '--recursive')))
    add('recursive_delete', 'removes directories recursively');
  if (name === 'find') findRules(args, words, out);
  if (name === 'git') gitRules(args, add);
  networkRules(name, args, add);
}

function findRules(args: string[], words: string[], out: Finding[]): void {
  if (args.includes('-delete'))
    out.push({ category: 'recursive_delete', what: 'deletes every file find matches', words });
  for (let i = 0; i < args.length; i++) {
    if (!['-exec', '-execdir', '-ok', '-okdir'].includes(args[i])) continue;
    let end = i + 1;
    while (end < args.length && args[end] !== ';' && args[end] !== '+') end++;
    analyse(args.slice(i + 1, end), 1, out);
    i = end;
  }
}

const GIT_VALUE_OPTIONS = ['-C', '-c', '--git-dir', '--work-tree', '--namespace', '--exec-path', '--config-env'];
const WHOLE_TREE = new Set(['.', './', ':/', ':/*', '*', ':(top)', '/']);

function gitRules(argv: string[], add: (c: CommandCategory, what: string) => void): void {
  const [sub, ...args] = skipGitOptions(argv);
  if (sub === undefined) return;
  const history = (what: string): void => add('git_history', what);
  if (sub === 'push') {
    add('git_push', 'pushes commits to a remote');
    const force = hasFlag(args, 'f', '--force', '--force-with-lease', '--mirror', '--delete') || hasFlag(args, 'd');
    if (force || args.some((a) => a.startsWith('+') || a.startsWith(':')))
      history('force-pushes or deletes remote history');
  }
  if (sub === 'reset' && args.includes('--hard')) history('throws away commits and uncommitted changes (reset --hard)');
  if (sub === 'rebase' && !hasFlag(args, null, '--abort', '--quit')) history('rewrites commits (rebase)');
  if (sub === 'commit' && args.includes('--amend')) history('rewrites the last commit (commit --amend)');
  if (['filter-branch', 'filter-repo', 'update-ref', 'prune', 'replace'].includes(sub))
    history(`rewrites repository state (git ${sub})`);
  if (sub === 'checkout' && (hasFlag(args, 'f', '--force') || args.some((a) => WHOLE_TREE.has(a))))
    history('discards uncommitted changes in the whole tree');
  if (
    sub === 'restore' &&
    args.some((a) => WHOLE_TREE.has(a)) &&
    !(args.includes('--staged') && !hasFlag(args, 'W', '--worktree'))
  ) {
    history('discards uncommitted changes in the whole tree');
  }
  if (sub === 'branch' && (hasFlag(args, 'D') || hasFlag(args, 'M') || hasFlag(args, 'f', '--force')))
    history('force-deletes or force-moves a branch');
  if (sub === 'tag' && (hasFlag(args, 'd', '--delete') || hasFlag(args, 'f', '--force')))
    history('deletes or moves a tag');
  if (sub === 'reflog' && ['expire', 'delete'].includes(args[0])) history('deletes reflog entries');
  if (sub === 'gc' && args.some((a) => a.startsWith('--prune'))) history('prunes unreachable objects');
  if (sub === 'stash' && ['drop', 'clear'].includes(args[0])) history('deletes stashed work');
  if (sub === 'worktree' && args[0] === 'remove') history('removes a worktree');
  if (sub === 'clean' && hasFlag(args, 'f', '--force') && !hasFlag(args, 'n', '--dry-run'))
    add('recursive_delete', 'deletes untracked files (git clean)');
  if (['clone', 'fetch', 'pull', 'ls-remote'].includes(sub)) add('network', `talks to a remote (git ${sub})`);
  if (
    (sub === 'remote' && args[0] === 'update') ||
    (sub === 'submodule' && ['update', 'add', 'sync'].includes(args[0]))
  ) {
    add('network', `talks to a remote (git ${sub} ${args[0]})`);
  }
}

function skipGitOptions(args: string[]): string[] {
  let i = 0;
  while (i < args.length && args[i].startsWith('-')) i += GIT_VALUE_OPTIONS.includes(args[i]) ? 2 : 1;
  return args.slice(i);
}

const NETWORK_TOOLS = new Set([
  'curl',
  'wget',
  'ssh',
  'scp',
  'sftp',
  'telnet',
  'nc',
  'ncat',
  'netcat',
  'ftp',
  'socat',
  'aria2c',
  'http',
  'https',
]);
/** Package managers and the subcommands of theirs that download. `''` stands for no subcommand. */
const INSTALLERS = new Map<string, string[]>(
  Object.entries({
    npm: [
      'install',
      'i',
      'in',
      'ins',
      'inst',
      'insta',
      'instal',
      'isnt',
      'isnta',
      'isntal',
      'isntall',
      'add',
      'ci',
      'clean-install',
      'ic',
      'install-clean',
      'install-test',
      'it',
      'install-ci-test',
      'cit',
      'update',
      'up',
      'upgrade',
      'udpate',
      'publish',
      'unpublish',
      'login',
      'adduser',
    ],
    yarn: ['', 'add', 'install', 'up', 'upgrade', 'upgrade-interactive', 'dlx', 'global', 'publish'],
    pnpm: ['add', 'install', 'i', 'up', 'update', 'upgrade', 'dlx', 'fetch', 'publish'],
    bun: ['add', 'install', 'i', 'update', 'publish'],
    pip: ['install', 'download'],
    pip3: ['install', 'download'],
    pipx: ['install', 'run'],
    poetry: ['add', 'install', 'update'],
    cargo: ['install', 'fetch', 'add', 'update'],
    go: ['get'],
    gem: ['install', 'update'],
    bundle: ['install', 'update'],
    docker: ['pull', 'push', 'login'],
    podman: ['pull', 'push', 'login'],
    apt: ['install', 'update', 'upgrade'],
    'apt-get': ['install', 'update', 'upgrade'],
    yum: ['install', 'update', 'upgrade'],
    dnf: ['install', 'update', 'upgrade'],
    apk: ['add', 'update', 'upgrade'],
    brew: ['install', 'update', 'upgrade', 'tap'],
  }),
);
const INSTALLER_VALUE_OPTIONS = ['--prefix', '-C', '--cwd', '--dir', '-w', '--workspace', '--filter'];
const INTERPRETERS = new Set(['python', 'python2', 'python3', 'node', 'nodejs', 'ruby', 'perl', 'php', 'deno']);

function networkRules(name: string, args: string[], add: (c: CommandCategory, what: string) => void): void {
  if (NETWORK_TOOLS.has(name)) add('network', `uses ${name}, a network client`);
  if (name === 'rsync' && args.some((a) => !a.startsWith('-') && (a.startsWith('rsync://') || /^[^/:]+:/.test(a)))) {
    add('network', 'copies to or from a remote host');
  }
  const sub = skipOptions(args, INSTALLER_VALUE_OPTIONS);
  const verb = args.length === 0 ? '' : sub[0];
  if (verb !== undefined && INSTALLERS.get(name)?.includes(verb))
    add('network', `downloads or publishes packages (${[name, verb].join(' ').trim()})`);
  if (name === 'go' && sub[0] === 'mod' && sub[1] === 'download') add('network', 'downloads Go modules');
  if (name === 'uv' && (['add', 'sync'].includes(sub[0]) || (['pip', 'tool'].includes(sub[0]) && sub[1] === 'install')))
    add('network', 'downloads Python packages (uv)');
  if (INTERPRETERS.has(name)) {
    if (args[0] === '-m' && ['pip', 'pip3'].includes(args[1])) networkRules('pip', args.slice(2), add);
    const code = args.find((_, i) => i > 0 && ['-c', '-e', '--eval', '-r', '-p', '--print'].includes(args[i - 1]));
    if (code !== undefined && /https?:\/\//.test(code)) add('network', `fetches a URL from inline ${name} code`);
  }
}
