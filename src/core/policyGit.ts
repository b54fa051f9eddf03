/**
 * The command policy's rules for git: pushes, history rewrites, deletes, remotes, configuration
 * writes, and the options that make git run other programs (`-c alias.x=!…`, `core.hooksPath`).
 */
import { afterOptions, hasFlag, isToplevel, operands, pathOf, RULES, valueOf } from './policyCatalog';
import type { Report, Unit } from './policyCatalog';
import type { ShellWord } from './shellSyntax';

/** Global options whose value is the next word. */
const GLOBAL_WITH_VALUE = ['-C', '-c', '--git-dir', '--work-tree', '--namespace', '--config-env', '--exec-path'];

/** Configuration keys (lower case) through which git runs a program or reaches elsewhere. */
const EXEC_KEYS = [
  /^alias\./,
  /^core\.(hookspath|fsmonitor|sshcommand|pager|editor|askpass|gitproxy|worktree)$/,
  /^(diff|merge)\..+\.(command|driver|textconv)$/,
  /^diff\.external$/,
  /^filter\./,
  /^credential\./,
  /^gpg\.(.+\.)?program$/,
  /^(sequence|interactive)\.(editor|difffilter)$/,
  /^pager\./,
  /^protocol\./,
  /^(uploadpack|receivepack|uploadarchive)\./,
  /^remote\..+\.(uploadpack|receivepack|proxy|vcs)$/,
  /^include(if)?\./,
  /^url\./,
  /^(http|https)\..*proxy/,
  /^safe\.directory$/,
  /^submodule\./,
];

/** Built-in git commands (and a few common extensions) that are not aliases. */
const KNOWN = new Set(
  (
    'add am annotate apply archive bisect blame branch bundle cat-file check-attr check-ignore check-mailmap ' +
    'check-ref-format checkout checkout-index cherry cherry-pick clean clone column commit commit-graph commit-tree ' +
    'config count-objects describe diff diff-files diff-index diff-tree difftool fetch for-each-ref format-patch fsck ' +
    'gc grep hash-object help init interpret-trailers log ls-files ls-remote ls-tree merge merge-base merge-file ' +
    'merge-tree mergetool mktag mktree mv name-rev notes pack-objects pull push range-diff read-tree rebase reflog ' +
    'remote repack replace rerere reset restore rev-list rev-parse revert rm shortlog show show-branch show-ref ' +
    'sparse-checkout stash status submodule switch symbolic-ref tag update-index update-ref var verify-commit ' +
    'verify-pack verify-tag version whatchanged worktree write-tree lfs filter-branch filter-repo prune maintenance ' +
    'send-email request-pull daemon instaweb stage pack-refs fast-export fast-import'
  ).split(' '),
);

const WHOLE_TREE = new Set(['.', './', ':/', ':/*', '*', ':(top)', '/']);

/** Options of a subcommand whose value is the next word (messages, files, authors, dates). */
const SUB_WITH_VALUE = '-m --message -F --file --author --date -C -c --format -n -b -B'.split(' ');

/** Judge one `git …` command. */
export function gitRules(unit: Unit, root: string, report: Report): void {
  const args = unit.words.slice(1);
  globalOptions(args, unit, root, report);
  const [subWord, ...rest] = afterOptions(args, GLOBAL_WITH_VALUE);
  if (subWord === undefined) return;
  const sub = valueOf(subWord);
  if (sub === null) return report(RULES.dynamicArgument, 'The git command to run is only known when it runs.');
  if (!KNOWN.has(sub)) return report(RULES.gitUnknown);
  if (unit.extraArgs || rest.some((w, i) => w.value === null && !isOptionValue(rest, i))) {
    if (RISKY.has(sub)) report(RULES.dynamicArgument, `git ${sub} gets arguments only known when it runs.`);
  }
  SUBCOMMANDS[sub]?.(rest, report);
}

/** True when word `i` is the value of the option before it (`-m "$(cat msg)"`). */
function isOptionValue(args: ShellWord[], i: number): boolean {
  return i > 0 && SUB_WITH_VALUE.includes(args[i - 1].value ?? '');
}

function globalOptions(args: ShellWord[], unit: Unit, root: string, report: Report): void {
  for (let i = 0; i < args.length; i++) {
    const a = args[i].value;
    if (a === null || !a.startsWith('-') || a === '--') return;
    const next = args[i + 1];
    if (a === '-c') configOption(next, report);
    else if (a.startsWith('--config-env') || (a.startsWith('--exec-path') && a !== '--exec-path'))
      report(RULES.gitConfigExec, `It sets git options from the environment or git's program path (${a}).`);
    else if (a === '--exec-path' && next !== undefined)
      report(RULES.gitConfigExec, 'It sets the path git runs its programs from (--exec-path).');
    else if (['--git-dir', '--work-tree', '--namespace'].some((o) => a === o || a.startsWith(`${o}=`)))
      report(RULES.gitOtherRepo);
    else if (a === '-C' && next !== undefined && !isToplevel(next) && pathOf(next, unit, root).where !== 'inside')
      report(RULES.gitOtherRepo, 'It runs git in a directory outside the worktree (-C).');
    if (GLOBAL_WITH_VALUE.includes(a)) i++;
  }
}

function configOption(w: ShellWord | undefined, report: Report): void {
  const v = valueOf(w);
  if (v === null) return report(RULES.gitConfigExec, 'It sets a git option only known when it runs (-c).');
  const key = v.split('=')[0].toLowerCase();
  if (EXEC_KEYS.some((re) => re.test(key)))
    report(RULES.gitConfigExec, `It sets ${key}, which makes git run a program.`);
}

type SubRule = (args: ShellWord[], report: Report) => void;

const history = (report: Report, why: string): void => report(RULES.gitHistory, why);
const network = (report: Report, what: string): void => report(RULES.network, `It talks to a remote (git ${what}).`);

/** The subcommands whose arguments change what they do to history or files. */
const RISKY = new Set([
  'push',
  'reset',
  'rebase',
  'commit',
  'checkout',
  'switch',
  'restore',
  'branch',
  'tag',
  'clean',
  'config',
  'stash',
  'worktree',
  'reflog',
  'gc',
  'remote',
]);

const SUBCOMMANDS: Record<string, SubRule> = {
  push(args, report) {
    report(RULES.gitPush);
    const force = hasFlag(args, 'f', '--force', '--force-with-lease', '--mirror', '--delete') || hasFlag(args, 'd');
    if (force || args.some((w) => w.value?.startsWith('+') || w.value?.startsWith(':')))
      history(report, 'It force-pushes or deletes remote history.');
  },
  reset: (args, r) =>
    args.some((w) => w.value === '--hard') &&
    history(r, 'It throws away commits and uncommitted changes (reset --hard).'),
  rebase: (args, r) =>
    !hasFlag(args, null, '--abort', '--quit', '--continue', '--skip') && history(r, 'It rewrites commits (rebase).'),
  commit: (args, r) =>
    args.some((w) => w.value === '--amend') && history(r, 'It rewrites the last commit (commit --amend).'),
  'filter-branch': (_, r) => history(r, 'It rewrites every commit (filter-branch).'),
  'filter-repo': (_, r) => history(r, 'It rewrites every commit (filter-repo).'),
  'update-ref': (_, r) => history(r, 'It moves or deletes a ref directly (update-ref).'),
  replace: (_, r) => history(r, 'It replaces objects in the history (replace).'),
  prune: (_, r) => history(r, 'It deletes unreachable objects (prune).'),
  checkout(args, r) {
    if (hasFlag(args, 'f', '--force') || args.some((w) => WHOLE_TREE.has(w.value ?? '')))
      history(r, 'It discards uncommitted changes in the whole tree.');
    if (hasFlag(args, 'B')) history(r, 'It resets a branch to another commit (checkout -B).');
  },
  switch: (args, r) =>
    (hasFlag(args, 'C', '--force-create') || hasFlag(args, 'f', '--discard-changes')) &&
    history(r, 'It resets a branch or discards changes (switch -C/-f).'),
  restore(args, r) {
    const stagedOnly = args.some((w) => w.value === '--staged') && !hasFlag(args, 'W', '--worktree');
    if (!stagedOnly && args.some((w) => WHOLE_TREE.has(w.value ?? '')))
      history(r, 'It discards uncommitted changes in the whole tree.');
  },
  branch: (args, r) =>
    (hasFlag(args, 'D') || hasFlag(args, 'M') || hasFlag(args, 'C') || hasFlag(args, 'f', '--force')) &&
    history(r, 'It force-deletes or force-moves a branch.'),
  tag: (args, r) => hasFlag(args, 'd', '--delete', '-f', '--force') && history(r, 'It deletes or moves a tag.'),
  reflog: (args, r) => ['expire', 'delete'].includes(args[0]?.value ?? '') && history(r, 'It deletes reflog entries.'),
  gc: (args, r) => args.some((w) => w.value?.startsWith('--prune')) && history(r, 'It prunes unreachable objects.'),
  stash: (args, r) => ['drop', 'clear'].includes(args[0]?.value ?? '') && history(r, 'It deletes stashed work.'),
  worktree: (args, r) => ['remove', 'prune'].includes(args[0]?.value ?? '') && history(r, 'It removes a worktree.'),
  clean: (args, r) => hasFlag(args, 'f', '--force') && !hasFlag(args, 'n', '--dry-run') && r(RULES.gitClean),
  clone: (_, r) => network(r, 'clone'),
  fetch: (_, r) => network(r, 'fetch'),
  pull: (_, r) => network(r, 'pull'),
  'ls-remote': (_, r) => network(r, 'ls-remote'),
  'send-email': (_, r) => network(r, 'send-email'),
  daemon: (_, r) => network(r, 'daemon'),
  archive: (args, r) => hasFlag(args, null, '--remote') && network(r, 'archive --remote'),
  submodule(args, r) {
    const verb = args[0]?.value ?? '';
    if (['update', 'add', 'sync', 'init'].includes(verb)) network(r, `submodule ${verb}`);
    if (verb === 'foreach') r(RULES.dynamicCode, 'git submodule foreach runs a shell command in each submodule.');
  },
  remote(args, r) {
    const verb = args[0]?.value ?? '';
    if (['update', 'prune', 'show'].includes(verb)) network(r, `remote ${verb}`);
    if (['add', 'set-url', 'rename', 'remove', 'rm', 'set-branches', 'set-head'].includes(verb))
      r(RULES.gitConfigWrite, `It changes the repository's remotes (git remote ${verb}).`);
  },
  config(args, r) {
    if (!isConfigRead(args)) r(RULES.gitConfigWrite);
  },
};

const CONFIG_READS = [
  '--get',
  '--get-all',
  '--get-regexp',
  '--get-urlmatch',
  '--list',
  '-l',
  '--get-color',
  '--get-colorbool',
];

/** `git config` that only reads: a read option, the `get`/`list` verbs, or a single key. */
function isConfigRead(args: ShellWord[]): boolean {
  if (args.some((w) => CONFIG_READS.includes(w.value ?? ''))) return true;
  const words = operands(args, ['--file', '-f', '--blob', '--type', '--default', '--comment']);
  const verb = words[0]?.value;
  if (verb === 'get' || verb === 'list') return true;
  const writes = [
    '--unset',
    '--unset-all',
    '--add',
    '--replace-all',
    '--rename-section',
    '--remove-section',
    '-e',
    '--edit',
  ];
  return words.length === 1 && !args.some((w) => writes.includes(w.value ?? ''));
}
