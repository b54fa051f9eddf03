/**
 * Where the Lead session refuses or cannot act, and how it says so: no folder, not a git
 * repository, an untrusted workspace (nothing reaches the model; history still readable), trust
 * withdrawn at the moment of planning, a backend that is down; plus adding backends and discovery
 * of the scripted server on a port the test passes; a machine where no sandbox can run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBubblewrapSandbox } from '../../src/infra/bubblewrap';
import { discoverServers, kindOf } from '../../src/infra/discovery';
import { toolCall } from '../../src/scripted/scenario';
import { makeRepo, planReply, rawTask, startServer } from './runHarness';
import { refused, serverBackend, session, settledRun, state, testHost, testSettings, until } from './leadHarness';

test('no folder, or a folder outside git: blocked with what to do, drafts still editable', async () => {
  const scratch = makeRepo(); // only for its worktree folder in the settings
  const noFolder = await session(testHost(null, testSettings(scratch)));
  try {
    assert.equal(state(noFolder).blocked?.reason, 'noFolder');
    await refused(noFolder, { type: 'plan/start' }, 'blocked');
    await noFolder.handle({ type: 'spec/change', spec: 'still writable' });
    assert.equal(state(noFolder).spec, 'still writable');
  } finally {
    await noFolder.dispose();
  }
  const plain = mkdtempSync(join(tmpdir(), 'foreman-nogit-'));
  const s = await session(testHost(plain, testSettings(scratch)));
  try {
    const st = state(s);
    assert.equal(st.blocked?.reason, 'notGit');
    assert.match(st.blocked.message, /git init/);
    assert.equal(st.repo, null);
    await refused(s, { type: 'backend/useDemo' }, 'blocked');
    await refused(s, { type: 'run/open', runId: 'r1' }, 'blocked');
    // The developer follows the advice; the next request finds the repository.
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=Dev', '-c', 'user.email=dev@example.com', ...args], {
        cwd: plain,
        stdio: 'ignore',
      });
    git('init', '-q', '-b', 'main');
    await refused(s, { type: 'plan/start' }, 'blocked');
    assert.match(state(s).blocked!.message, /no commits yet/);
    writeFileSync(join(plain, 'README.md'), '# hi\n');
    git('add', '-A');
    git('commit', '-q', '-m', 'first');
    await refused(s, { type: 'plan/start' }, 'invalid');
    assert.equal(state(s).blocked, null);
    assert.ok(state(s).repo);
  } finally {
    await s.dispose();
    rmSync(plain, { recursive: true, force: true });
    scratch.cleanup();
  }
});

test(
  'untrusted: nothing plans or runs and no request reaches the model; history still loads',
  { timeout: 60_000 },
  async () => {
    const repo = makeRepo();
    const server = await startServer({
      planner: [planReply([rawTask('one', { files: ['one.txt'] })])],
      agents: {
        one: [toolCall('write_file', { path: 'one.txt', content: '1\n' }), toolCall('finish', { summary: 'done' })],
      },
    });
    const trustedHost = testHost(repo.root, testSettings(repo, { backends: [serverBackend(server.url)] }));
    const first = await session(trustedHost);
    let runId: string;
    try {
      await first.handle({ type: 'spec/change', spec: 'One file.' });
      await first.handle({ type: 'plan/start' });
      // Trust withdrawn between planning and running: refused at the moment of the run.
      trustedHost.trusted = false;
      const before = server.requests.length;
      const e = await refused(first, { type: 'run/start' }, 'blocked');
      assert.match(e.message, /not trusted/);
      assert.equal(state(first).blocked?.reason, 'untrusted');
      assert.equal(server.requests.length, before);
      trustedHost.trusted = true;
      await first.handle({ type: 'run/start' });
      runId = (await settledRun(first)).runId;
      assert.equal(state(first).blocked, null, 'trust granted again takes effect at once');
    } finally {
      await first.dispose();
    }

    const host = testHost(repo.root, testSettings(repo, { backends: [serverBackend(server.url)] }), { trusted: false });
    const s = await session(host);
    const requests = server.requests.length;
    try {
      let st = state(s);
      assert.equal(st.blocked?.reason, 'untrusted');
      assert.match(st.blocked.message, /Trust the workspace to plan and run/);
      assert.deepEqual(
        st.history.map((h) => h.runId),
        [runId],
        'history loads in an untrusted workspace',
      );
      await s.handle({ type: 'spec/change', spec: 'Another file.' });
      await s.handle({ type: 'options/change', options: { concurrency: 3 } });
      for (const request of [
        { type: 'plan/start' },
        { type: 'backend/useDemo' },
        { type: 'backend/discover' },
        { type: 'run/resume', runId },
        { type: 'run/apply', mode: 'squash' },
      ] as const) {
        await refused(s, request, 'blocked');
      }
      await s.handle({ type: 'run/open', runId });
      st = state(s);
      assert.equal(st.run?.runId, runId);
      assert.equal(st.run?.status, 'completed');
      assert.equal(st.run?.live, false);
      await refused(s, { type: 'task/requestChanges', taskId: 'one', comments: 'more' }, 'blocked');
      assert.equal(server.requests.length, requests, 'no request reached the server');
      await s.handle({ type: 'run/close' });
      assert.equal(state(s).phase, 'compose');
    } finally {
      await s.dispose();
      await server.close();
      repo.cleanup();
    }
  },
);

test('a backend that is down: back to the spec, the error said once (by the request), LeadError backend', async () => {
  const repo = makeRepo();
  const host = testHost(
    repo.root,
    testSettings(repo, { backends: [{ name: 'gone', baseUrl: 'http://127.0.0.1:9/v1', models: ['m'] }] }),
  );
  const s = await session(host);
  try {
    await refused(s, { type: 'plan/start' }, 'invalid');
    await s.handle({ type: 'spec/change', spec: 'Anything.' });
    const e = await refused(s, { type: 'plan/start' }, 'backend');
    assert.match(
      e.message,
      /^Could not reach the backend at http:\/\/127\.0\.0\.1:9\/v1: connection refused .*Is the server running\? Check foreman\.backends or choose another backend\.$/,
    );
    const st = state(s);
    assert.equal(st.phase, 'compose');
    assert.equal(st.planning, null);
    assert.deepEqual(st.notices, [], 'the request carries the error to the Plan button; no notice repeats it');
    assert.ok(
      host.logs.some((l) => l.level === 'error' && /127\.0\.0\.1:9/.test(l.message)),
      'the failure is logged',
    );
  } finally {
    await s.dispose();
    repo.cleanup();
  }
});

test('no backend chosen: planning says how to get one; adding one validates and selects it', async () => {
  const repo = makeRepo();
  const host = testHost(repo.root, testSettings(repo));
  const s = await session(host);
  try {
    await s.handle({ type: 'spec/change', spec: 'Anything.' });
    const e = await refused(s, { type: 'plan/start' }, 'invalid');
    assert.match(e.message, /Choose a backend and a model/);
    assert.deepEqual(
      state(s).backends.map((b) => [b.name, b.demo]),
      [['demo', true]],
      'the demo is always offered',
    );
    await refused(s, { type: 'backend/add', name: ' ', baseUrl: 'http://localhost:8000/v1', model: 'm' }, 'invalid');
    await refused(s, { type: 'backend/add', name: 'x', baseUrl: 'ftp://localhost/v1', model: 'm' }, 'invalid');
    await refused(s, { type: 'backend/add', name: 'x', baseUrl: 'not a url', model: 'm' }, 'invalid');
    const withPassword = await refused(
      s,
      { type: 'backend/add', name: 'x', baseUrl: 'http://user:s3cret-pw@localhost:8000/v1', model: 'm' },
      'invalid',
    );
    assert.match(withPassword.message, /user name or password.*http:\/\/localhost:8000\/v1/);
    assert.doesNotMatch(withPassword.message, /s3cret-pw/);
    await refused(s, { type: 'backend/add', name: 'x', baseUrl: 'http://localhost:8000/v1', model: '' }, 'invalid');
    await refused(s, { type: 'backend/add', name: 'demo', baseUrl: 'http://localhost:8000/v1', model: 'm' }, 'invalid');
    await s.handle({ type: 'backend/add', name: 'vllm', baseUrl: 'http://localhost:8000/v1', model: 'qwen' });
    await s.handle({ type: 'backend/add', name: 'vllm', baseUrl: 'http://localhost:8000/v1', model: 'llama' });
    assert.deepEqual(
      host.settings.backends,
      [{ name: 'vllm', baseUrl: 'http://localhost:8000/v1', models: ['llama', 'qwen'] }],
      'replacing keeps the other models',
    );
    const st = state(s);
    assert.deepEqual([st.options.backend, st.options.model], ['vllm', 'llama']);
    assert.deepEqual(
      st.backends.map((b) => b.name),
      ['vllm', 'demo'],
    );
    await refused(s, { type: 'options/change', options: { backend: 'nope' } }, 'invalid');
    await s.handle({ type: 'options/change', options: { backend: 'demo' } });
    assert.equal(state(s).options.model, 'scripted-demo', 'choosing a backend picks its first model');
  } finally {
    await s.dispose();
    repo.cleanup();
  }
});

test('discovery finds the scripted server on the port it is given', async () => {
  const repo = makeRepo();
  const server = await startServer({});
  const port = Number(new URL(server.url).port);
  const closed = await startServer({});
  const closedPort = Number(new URL(closed.url).port);
  await closed.close();
  const s = await session(testHost(repo.root, testSettings(repo)), {
    discoveryTargets: [port, { port: closedPort, usual: 'vLLM' }],
  });
  try {
    const scanning = s.handle({ type: 'backend/discover' });
    assert.equal(state(s).discovery.scanning, true);
    await scanning;
    const st = state(s);
    assert.equal(st.discovery.scanning, false);
    assert.ok(st.discovery.scannedAt);
    assert.deepEqual(st.discovery.found, [
      { kind: 'OpenAI-compatible', baseUrl: `http://127.0.0.1:${port}/v1`, models: ['foreman-test-model'] },
    ]);
    const named = await discoverServers({ targets: [{ port, usual: 'SGLang' }] });
    assert.equal(named[0].kind, 'SGLang', "a server that does not name itself takes the port's usual name");
    assert.equal(kindOf(['vllm'], { port: 8000, usual: null }), 'vLLM');
    assert.equal(kindOf(['library'], { port: 9999, usual: null }), 'Ollama');
    assert.equal(kindOf([''], { port: 8000, usual: null }), 'OpenAI-compatible');
    const started = Date.now();
    assert.deepEqual(
      await discoverServers({ host: '10.255.255.1', targets: [8000], timeoutMs: 300 }),
      [],
      'an unroutable host times out quietly',
    );
    assert.ok(Date.now() - started < 2000);
    await until(s, 'idle', (x) => !x.discovery.scanning);
  } finally {
    await s.dispose();
    await server.close();
    repo.cleanup();
  }
});

test('no sandbox here: the panel says so and runs are refused with what to do; turned off, the run goes', async () => {
  const repo = makeRepo();
  const server = await startServer({
    planner: [planReply([rawTask('one')])],
    agents: {
      one: [
        toolCall('run_command', { command: 'echo ran > ran.txt' }),
        toolCall('finish', { summary: 'ran a command' }),
      ],
    },
  });
  const host = testHost(repo.root, testSettings(repo, { backends: [serverBackend(server.url)] }));
  const s = await session(host, { sandbox: createBubblewrapSandbox({ bwrapPath: join(repo.tmp, 'no-bwrap') }) });
  try {
    const line = state(s).sandbox;
    assert.equal(line?.kind, 'unavailable');
    assert.match(line.text, /no-bwrap/);
    await s.handle({ type: 'spec/change', spec: 'Run one command.' });
    await s.handle({ type: 'plan/start' });
    const error = await refused(s, { type: 'run/start' }, 'refused');
    assert.match(error.message, /Sandbox unavailable: .*Agent commands are refused\. Install bubblewrap/);
    assert.equal(state(s).run, null, 'nothing ran');

    host.settings = { ...host.settings, sandbox: { mode: 'off', network: 'none', allowedHosts: [], env: [] } };
    await s.refresh();
    assert.equal(state(s).sandbox?.kind, 'off');
    assert.match(state(s).sandbox!.text, /^Sandbox OFF: .*unconfined/);
    await s.handle({ type: 'run/start' });
    const run = await settledRun(s);
    assert.equal(run.status, 'completed', JSON.stringify(state(s).notices));
    assert.equal(repo.git(['show', `foreman/${run.runId}/one:ran.txt`]), 'ran\n');
  } finally {
    await s.dispose();
    await server.close();
    repo.cleanup();
  }
});

test('a dirty checkout: Run is refused with what to do in VS Code, not a command-line flag', async () => {
  const repo = makeRepo();
  const server = await startServer({ planner: [planReply([rawTask('one')])], agents: {} });
  const s = await session(testHost(repo.root, testSettings(repo, { backends: [serverBackend(server.url)] })));
  try {
    await s.handle({ type: 'spec/change', spec: 'One task.' });
    await s.handle({ type: 'plan/start' });
    writeFileSync(join(repo.root, 'notes.txt'), 'mine, not committed\n');
    const e = await refused(s, { type: 'run/start' }, 'refused');
    assert.match(e.message, /^Your checkout has uncommitted changes \(notes\.txt\)\. /);
    assert.match(e.message, /Commit or stash them in the Source Control view/);
    assert.match(e.message, /"Foreman: Dirty Checkout" \(foreman\.dirtyCheckout\) to "snapshot"/);
    assert.doesNotMatch(e.message, /--dirty|foreman run/, 'no command-line advice in the panel');
    assert.equal(state(s).phase, 'plan', 'the plan stays for another try');
    assert.deepEqual(state(s).notices, [], 'said once, by the Run button');
  } finally {
    await s.dispose();
    await server.close();
    repo.cleanup();
  }
});
