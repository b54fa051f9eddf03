/**
 * The command policy's rules for what reaches beyond the machine or brings code from it: network
 * clients, package managers' downloading verbs, package runners (`npx`, `npm exec`, `dlx`…) and
 * containers.
 */
import { afterOptions, always, hasFlag, operands, RULES, valueOf } from './policyCatalog';
import type { Check } from './policyCatalog';
import type { ShellWord } from './shellSyntax';

const NPM_INSTALL =
  'install i in ins inst insta instal isnt isnta isntal isntall add ci clean-install ic install-clean install-test ' +
  'it install-ci-test cit update up upgrade udpate publish unpublish login adduser';

/** Package managers and their verbs that download or publish. `''` stands for no verb at all. */
const DOWNLOADING_VERBS: Record<string, string[]> = {
  npm: NPM_INSTALL.split(' '),
  yarn: ['', 'add', 'install', 'up', 'upgrade', 'upgrade-interactive', 'global', 'publish'],
  pnpm: ['add', 'install', 'i', 'up', 'update', 'upgrade', 'fetch', 'publish'],
  bun: ['add', 'install', 'i', 'update', 'publish'],
  pip: ['install', 'download'],
  pip3: ['install', 'download'],
  pipx: ['install'],
  poetry: ['add', 'install', 'update'],
  cargo: ['install', 'fetch', 'add', 'update', 'publish'],
  go: ['get'],
  gem: ['install', 'update'],
  bundle: ['install', 'update'],
  apt: ['install', 'update', 'upgrade'],
  'apt-get': ['install', 'update', 'upgrade'],
  yum: ['install', 'update', 'upgrade'],
  dnf: ['install', 'update', 'upgrade'],
  apk: ['add', 'update', 'upgrade'],
  brew: ['install', 'update', 'upgrade', 'tap'],
};

/** Programs whose whole job is the network. */
const NETWORK_CLIENTS = [
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
  'ping',
  'dig',
  'nslookup',
  'nmap',
  'ssh-keyscan',
];

/** Options of package managers whose value is the next word, before the verb. */
const MANAGER_WITH_VALUE = ['--prefix', '-C', '--cwd', '--dir', '-w', '--workspace', '--filter', '--registry'];

/** The package manager's verb (its first operand after the options). */
function verbOf(args: ShellWord[]): string | null {
  return valueOf(afterOptions(args, MANAGER_WITH_VALUE)[0]);
}

/** A package manager: its downloading verbs, then anything more the manager itself needs. */
function manager(name: string, more?: Check): Check {
  const verbs = DOWNLOADING_VERBS[name];
  return (input) => {
    const verb = input.args.length === 0 ? '' : verbOf(input.args);
    if (verb !== null && verbs.includes(verb))
      input.report(RULES.network, `It downloads or publishes packages (${`${name} ${verb}`.trim()}).`);
    more?.(input);
  };
}

const packageRunner = always(RULES.packageRunner);
const runsVerb =
  (...verbs: string[]): Check =>
  ({ args, report }) => {
    if (verbs.includes(verbOf(args) ?? '')) report(RULES.packageRunner);
  };

/** `npm init` alone writes a package.json; `npm init <name>` (and exec, x, create) runs a package. */
const npm: Check = ({ args, report }) => {
  const [verb, ...rest] = afterOptions(args, MANAGER_WITH_VALUE);
  const runs = ['exec', 'x', 'create'].includes(verb?.value ?? '');
  if (runs || (verb?.value === 'init' && operands(rest).length > 0)) report(RULES.packageRunner);
};

const uv: Check = ({ args, report }) => {
  const [verb, next] = afterOptions(args, MANAGER_WITH_VALUE).map((w) => w.value);
  if (verb === 'add' || verb === 'sync' || ((verb === 'pip' || verb === 'tool') && next === 'install'))
    report(RULES.network, 'It downloads Python packages (uv).');
  if (verb === 'tool' && next === 'run') report(RULES.packageRunner);
};

const bun: Check = ({ args, report }) => {
  if (hasFlag(args, 'e', '--eval', '--print')) return report(RULES.inlineCode);
  if (['x', 'create'].includes(verbOf(args) ?? '')) report(RULES.packageRunner);
};

const deno: Check = ({ args, report }) => {
  const [verb, ...rest] = afterOptions(args);
  if (verb?.value === 'eval') return report(RULES.inlineCode);
  if (operands(rest).some((w) => w.value === null || /^(https?:|npm:|jsr:)/.test(w.value)))
    report(RULES.packageRunner, 'It runs a module fetched from the network.');
};

const go: Check = ({ args, report }) => {
  const [verb, next] = afterOptions(args).map((w) => w.value);
  if (verb === 'mod' && next === 'download') report(RULES.network, 'It downloads Go modules.');
};

/** `rsync` to or from `host:path` or `rsync://`. */
const rsync: Check = ({ args, report }) => {
  const remote = (v: string) => v.startsWith('rsync://') || /^[^/:]+:/.test(v);
  if (operands(args, ['-e', '--rsh']).some((w) => w.value !== null && remote(w.value)))
    report(RULES.network, 'It copies to or from a remote host.');
};

/** Container commands that only look; anything else starts or changes a container. */
const CONTAINER_READS = new Set(
  'ps images image logs inspect version info stats top port diff history events search'.split(' '),
);
const container: Check = ({ args, report }) => {
  const verb = afterOptions(args, ['-H', '--host', '--context', '-c', '--config', '-l', '--log-level'])[0];
  if (verb !== undefined && !CONTAINER_READS.has(verb.value ?? '')) report(RULES.container);
};

/** The network's checks, by command name. */
export const NETWORK_CHECKS: Record<string, Check> = {
  ...Object.fromEntries(NETWORK_CLIENTS.map((n) => [n, always(RULES.network, `It uses ${n}, a network client.`)])),
  ...Object.fromEntries(Object.keys(DOWNLOADING_VERBS).map((n) => [n, manager(n)])),
  npm: manager('npm', npm),
  pnpm: manager('pnpm', runsVerb('dlx', 'create')),
  yarn: manager('yarn', runsVerb('dlx', 'create')),
  pipx: manager('pipx', runsVerb('run')),
  bun: manager('bun', bun),
  go: manager('go', go),
  uv,
  deno,
  rsync,
  npx: packageRunner,
  pnpx: packageRunner,
  bunx: packageRunner,
  uvx: packageRunner,
  docker: container,
  podman: container,
  nerdctl: container,
};
