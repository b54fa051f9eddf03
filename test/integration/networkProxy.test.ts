/**
 * The allow-listed network (`sandbox.network: "allowList"`) as an agent meets it: real bubblewrap,
 * a real worktree, the real task runner with its proxy, and curl and node inside. There is no
 * internet here: local servers stand in for the allowed hosts, and the proxy's resolver maps the
 * test's names (`allowed.test`, …) to 127.0.0.1. Each server counts its connections, so a refusal
 * is proved by a server that was never reached, not only by the answer inside.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync, existsSync } from 'node:fs';
import type { Dirent } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { Server as NetServer, Socket } from 'node:net';
import { join } from 'node:path';
import type { TaskRunner } from '../../src/core/ports';
import { DEFAULT_SANDBOX_SETTINGS, describeSandboxState } from '../../src/core/sandbox';
import type { SandboxSettings, TaskNetworkDecision } from '../../src/core/sandbox';
import { createBubblewrapSandbox } from '../../src/infra/bubblewrap';
import { createGitRepo } from '../../src/infra/gitRepo';
import { createTaskRunners } from '../../src/infra/taskRunners';
import type { TaskPlace, TaskRunners } from '../../src/infra/taskRunners';
import { makeTempRepo } from './tempRepo';
import type { TempRepo } from './tempRepo';

/** A local server and how many connections reached it. */
interface Counted<S> {
  server: S;
  port: number;
  connections: number;
  /** Connections now open. */
  open: Set<Socket>;
}

let t: TempRepo;
let place: TaskPlace;
let runners: TaskRunners;
let runner: TaskRunner;
/** The allowed web server (`allowed.test`), the echo service reached by tunnel (`tls.test`), a server never allowed. */
let web: Counted<Server>;
let echo: Counted<NetServer>;
let forbidden: Counted<Server>;
const decisions: TaskNetworkDecision[] = [];

async function listen<S extends Server | NetServer>(server: S): Promise<Counted<S>> {
  const counted: Counted<S> = { server, port: 0, connections: 0, open: new Set() };
  server.on('connection', (socket: Socket) => {
    counted.connections++;
    counted.open.add(socket);
    socket.on('close', () => counted.open.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  counted.port = (server.address() as { port: number }).port;
  return counted;
}

function settings(): SandboxSettings {
  return {
    ...DEFAULT_SANDBOX_SETTINGS,
    network: 'allowList',
    allowedHosts: [`allowed.test:${web.port}`, `tls.test:${echo.port}`, `*.wild.test:${web.port}`],
  };
}

function runnersFor(nodePath?: string): TaskRunners {
  return createTaskRunners({
    settings: settings(),
    sandbox: createBubblewrapSandbox(nodePath === undefined ? {} : { nodePath }),
    onNetworkDecision: (d) => decisions.push(d),
    // No DNS here: every test name is this machine.
    proxy: { resolve: async (host) => (host.endsWith('.test') ? ['127.0.0.1'] : []) },
  });
}

before(async () => {
  web = await listen(createServer((req, res) => res.end(`web says ${req.method} ${req.url} to ${req.headers.host}\n`)));
  echo = await listen(createNetServer((socket) => socket.pipe(socket)));
  forbidden = await listen(createServer((_req, res) => res.end('forbidden server reached\n')));
  t = makeTempRepo({ files: { 'README.md': '# proxied\n' } });
  runners = runnersFor();
  const repo = await createGitRepo({ cwd: t.root, worktreeRoot: t.worktreeRoot, runners });
  const wt = await repo.ensureWorktree('r1', 't1', t.git(['rev-parse', 'HEAD']).trim(), null);
  place = repo.taskPlace('r1', 't1', wt.path);
  runner = await runners.open(place);
  // A node client for the tunnel tests, in the worktree: CONNECT through the proxy, then talk.
  writeFileSync(join(place.worktree, 'tunnel.js'), TUNNEL_CLIENT);
});

after(async () => {
  await runner.close();
  for (const s of [web, echo, forbidden]) {
    for (const c of s.open) c.destroy();
    await new Promise((resolve) => s.server.close(resolve));
  }
  t.cleanup();
});

/**
 * `node tunnel.js HOST:PORT BYTES [HOLD]`: CONNECT through $HTTPS_PROXY, send BYTES random bytes,
 * print the sha256 of what was sent and of what came back; with HOLD (a file name), print `open`,
 * write the file once it has, and wait.
 */
const TUNNEL_CLIENT = `
const net = require('net'), crypto = require('crypto');
const [target, bytes, hold] = process.argv.slice(2);
const proxy = new URL(process.env.HTTPS_PROXY);
const s = net.connect(Number(proxy.port), proxy.hostname);
s.on('error', (e) => { console.log('ERR ' + e.code); process.exit(3); });
s.write('CONNECT ' + target + ' HTTP/1.1\\r\\nHost: ' + target + '\\r\\n\\r\\n');
let head = Buffer.alloc(0);
s.on('data', function onHead(d) {
  head = Buffer.concat([head, d]);
  const end = head.indexOf('\\r\\n\\r\\n');
  if (end < 0) return;
  s.off('data', onHead);
  const status = head.subarray(0, end).toString().split('\\r\\n')[0];
  console.log(status);
  if (!/ 200 /.test(status)) { console.log(head.subarray(end + 4).toString()); process.exit(4); }
  if (hold) { console.log('open'); require('fs').writeFileSync(hold, 'open'); return; }
  const out = crypto.randomBytes(Number(bytes));
  const back = crypto.createHash('sha256');
  let got = 0;
  s.on('data', (c) => { back.update(c); got += c.length; if (got === out.length) { console.log('sent ' + crypto.createHash('sha256').update(out).digest('hex')); console.log('back ' + back.digest('hex')); process.exit(0); } });
  s.write(out);
});
`;

function sh(command: string, signal?: AbortSignal) {
  return runner.run(command, { cwd: place.worktree, timeoutMs: 60_000, signal, maxOutputBytes: 1 << 20 });
}

test('curl reaches an allowed host through the proxy, by plain HTTP and through a CONNECT tunnel', async () => {
  const before = web.connections;
  const plain = await sh(`curl -sS http://allowed.test:${web.port}/plain`);
  assert.equal(plain.exitCode, 0, plain.output);
  assert.equal(plain.output, `web says GET /plain to allowed.test:${web.port}\n`);
  const spoofed = await sh(`curl -sS -H 'Host: forbidden.test' http://allowed.test:${web.port}/spoofed`);
  assert.equal(
    spoofed.output,
    `web says GET /spoofed to allowed.test:${web.port}\n`,
    'the host judged is the host named to the server',
  );
  const tunnel = await sh(`curl -sS --proxytunnel http://allowed.test:${web.port}/tunnel`);
  assert.equal(tunnel.exitCode, 0, tunnel.output);
  assert.equal(tunnel.output, `web says GET /tunnel to allowed.test:${web.port}\n`);
  assert.equal(web.connections, before + 3, 'each request reached the server, through the proxy');
  const mine = decisions.filter((d) => d.host === 'allowed.test');
  assert.deepEqual(
    mine.slice(-3).map((d) => [d.via, d.allowed, d.port, d.reason, d.runId, d.taskId]),
    [
      ['http', true, web.port, `allowed by allowed.test:${web.port}`, 'r1', 't1'],
      ['http', true, web.port, `allowed by allowed.test:${web.port}`, 'r1', 't1'],
      ['connect', true, web.port, `allowed by allowed.test:${web.port}`, 'r1', 't1'],
    ],
  );
});

test('node through a tunnel: 4 MB each way reach an allowed TCP service and come back intact', async () => {
  const r = await sh(`node tunnel.js tls.test:${echo.port} 4194304`);
  assert.equal(r.exitCode, 0, r.output);
  assert.match(r.output, /^HTTP\/1\.1 200 Connection Established\n/);
  const sent = /sent ([0-9a-f]{64})/.exec(r.output)?.[1];
  assert.ok(sent, r.output);
  assert.match(r.output, new RegExp(`back ${sent}`), 'the bytes that came back are the bytes sent');
});

test('a host not on the list gets 403 naming the setting, and its server sees no connection', async () => {
  const url = `http://forbidden.test:${forbidden.port}/`;
  const plain = await sh(`curl -sS -w ' [%{http_code}]' ${url}`);
  assert.match(plain.output, /\[403\]$/);
  assert.match(plain.output, new RegExp(`refused forbidden\\.test:${forbidden.port}: it is not in the allow-list`));
  assert.match(
    plain.output,
    /add "forbidden\.test:\d+" to foreman\.sandbox\.allowedHosts.*--allow-host forbidden\.test:\d+/,
  );
  const tunnelled = await sh(`node tunnel.js forbidden.test:${forbidden.port} 10`);
  assert.equal(tunnelled.exitCode, 4, tunnelled.output);
  assert.match(tunnelled.output, /^HTTP\/1\.1 403 Forbidden\n.*foreman\.sandbox\.allowedHosts/s);
  const curlTunnel = await sh(`curl -sS --proxytunnel ${url}`);
  assert.notEqual(curlTunnel.exitCode, 0);
  assert.match(curlTunnel.output, /403/);
  const otherPort = await sh(`curl -sS -w ' [%{http_code}]' http://allowed.test:${forbidden.port}/`);
  assert.match(otherPort.output, /port \d+ is not allowed for it .*\[403\]$/s);
  const wildcard = await sh(`curl -sS -w ' [%{http_code}]' http://api.wild.test:${web.port}/`);
  assert.match(wildcard.output, /resolves to 127\.0\.0\.1, a loopback or private address.*\[403\]$/s);
  assert.equal(forbidden.connections, 0, 'no refused request reached its server');
  const refused = decisions.filter((d) => !d.allowed).map((d) => `${d.via} ${d.host}:${d.port}`);
  assert.deepEqual(refused, [
    `http forbidden.test:${forbidden.port}`,
    `connect forbidden.test:${forbidden.port}`,
    `connect forbidden.test:${forbidden.port}`,
    `http allowed.test:${forbidden.port}`,
    `http api.wild.test:${web.port}`,
  ]);
});

test('past the proxy there is no route: direct connections, unnamed loopback services and DNS all fail', async () => {
  const before = web.connections;
  const direct = await sh(`curl -sS --noproxy '*' http://127.0.0.1:${web.port}/; echo " exit=$?"`);
  assert.match(direct.output, /exit=7\n$/, 'the host loopback is not this sandbox loopback');
  const nodeDirect = await sh(
    `node -e "require('net').connect(${web.port}, '127.0.0.1').on('connect', () => console.log('OPEN')).on('error', (e) => console.log('ERR ' + e.code))"`,
  );
  assert.match(nodeDirect.output, /ERR (ECONNREFUSED|ENETUNREACH)/);
  for (const host of ['127.0.0.1', 'localhost']) {
    const viaProxy = await sh(`curl -sS -w ' [%{http_code}]' --noproxy '' http://${host}:${web.port}/`);
    assert.match(viaProxy.output, /it is not in the allow-list.*\[403\]$/s, host);
  }
  const dns = await sh('getent hosts registry.npmjs.org; echo " exit=$?"');
  assert.match(dns.output, /exit=2\n$/, 'nothing resolves inside the sandbox');
  assert.equal(web.connections, before, 'nothing reached the allowed server except through the proxy');
});

/** Socket files under `dir`. */
function socketFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e: Dirent) => e.isSocket())
    .map((e) => join(e.parentPath, e.name));
}

test("the proxy lives and dies with the task's runner: an open tunnel ends when it closes, and no socket file exists", async () => {
  const own = runnersFor();
  const second = await own.open({ ...place, taskId: 't2', scratch: `${place.scratch}-t2` });
  const abort = new AbortController();
  const opened = echo.connections;
  const running = second.run(`node tunnel.js tls.test:${echo.port} 0 tunnel-open`, {
    cwd: place.worktree,
    timeoutMs: 60_000,
    signal: abort.signal,
  });
  try {
    // The tunnel is open once the client has said so (its output is written before the file).
    const marker = join(place.worktree, 'tunnel-open');
    while (echo.connections === opened || !existsSync(marker)) await new Promise((r) => setTimeout(r, 20));
    const [tunnel] = [...echo.open].slice(-1);
    assert.deepEqual(socketFiles(t.tmp), [], 'the channel is a socket pair: no socket file anywhere');
    const closed = new Promise((resolve) => tunnel.once('close', resolve));
    await second.close();
    await closed;
    assert.equal(existsSync(`${place.scratch}-t2`), false, "the runner's folders are gone");
  } finally {
    abort.abort();
  }
  const r = await running;
  assert.match(r.output, /200 Connection Established\nopen\n/);
  assert.deepEqual(socketFiles(t.tmp), []);
});

test('where the bridge cannot start, the command still runs, without network, and says why', async () => {
  const broken = runnersFor(join(t.tmp, 'no-node'));
  const own = await broken.open({ ...place, taskId: 't3', scratch: `${place.scratch}-t3` });
  try {
    const r = await own.run(`curl -sS http://allowed.test:${web.port}/; echo " exit=$?"`, {
      cwd: place.worktree,
      timeoutMs: 20_000,
    });
    assert.match(r.output, /foreman: the sandbox's network bridge did not start; this command has no network/);
    assert.match(r.output, /exit=7\n$/);
  } finally {
    await own.close();
  }
});

test('the sandbox line names the allowed hosts', async () => {
  const line = describeSandboxState(await runners.state());
  assert.match(
    line,
    new RegExp(
      `network: only allowed\\.test:${web.port}, tls\\.test:${echo.port}, \\*\\.wild\\.test:${web.port}, through Foreman's proxy`,
    ),
  );
});

test('an agent gets the proxy variables, and its own loopback stays direct', async () => {
  const r = await sh('echo "$HTTPS_PROXY|$http_proxy|$ALL_PROXY|$NO_PROXY"');
  assert.equal(r.output, 'http://127.0.0.1:3128|http://127.0.0.1:3128|http://127.0.0.1:3128|localhost,127.0.0.1,::1\n');
  // A test's own server inside the sandbox answers curl, which goes past the proxy for loopback.
  const local = await sh(
    `node -e "require('http').createServer((q, a) => a.end('inner')).listen(8080, '127.0.0.1')" & ` +
      'for i in $(seq 100); do curl -sS http://127.0.0.1:8080/ 2>/dev/null && break; sleep 0.05; done',
  );
  assert.equal(local.output, 'inner');
});
