/**
 * The demo backend in the Lead session: the scripted server starts in process, plans the sample
 * spec on a copy of samples/demo-shop, runs it with the sample's own `npm test` as the check
 * (detected from its package.json), takes a request for changes on the receipt task, and is
 * applied onto the sample's branch. On any other repository it refuses, saying it only knows the
 * sample, and the panel opens a fresh copy of the sample in a new window instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { makeRepo, PROJECT_ROOT } from './runHarness';
import { refused, session, settledRun, state, testHost, testSettings, until } from './leadHarness';

test(
  'the demo backend runs the sample spec on demo-shop end to end, with a round of changes',
  { timeout: 180_000 },
  async () => {
    // Under `node --test` this variable makes the sample's own `node --test` report to us instead of
    // failing; the checks must see the environment a developer's shell has.
    const testContext = process.env.NODE_TEST_CONTEXT;
    delete process.env.NODE_TEST_CONTEXT;
    const repo = makeRepo({ template: join(PROJECT_ROOT, 'samples', 'demo-shop') });
    const host = testHost(repo.root, testSettings(repo, { checks: null, review: true, concurrency: 2 }));
    const s = await session(host);
    try {
      const demo = state(s).backends.find((b) => b.demo)!;
      assert.equal(demo.baseUrl, 'built in', 'not started before it is chosen');
      await s.handle({ type: 'backend/useDemo' });
      let st = state(s);
      assert.deepEqual([st.options.backend, st.options.model], ['demo', 'scripted-demo']);
      assert.match(st.backends.find((b) => b.demo)!.baseUrl, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);

      await s.handle({
        type: 'spec/change',
        spec: readFileSync(join(PROJECT_ROOT, 'samples', 'demo-spec.txt'), 'utf8').trim(),
      });
      await s.handle({ type: 'plan/start' });
      st = state(s);
      assert.deepEqual(
        st.plan?.tasks.map((t) => t.id),
        ['discounts', 'receipt', 'checkout'],
      );
      assert.ok(st.plan?.estimate?.cost !== null, 'the demo shows costs');

      await s.handle({ type: 'run/start' });
      let run = await settledRun(s, 120_000);
      assert.equal(run.status, 'completed', JSON.stringify(state(s).notices));
      assert.deepEqual(
        run.tasks.map((t) => t.status),
        ['merged', 'merged', 'merged'],
      );
      const checkout = run.tasks.find((t) => t.id === 'checkout')!;
      assert.ok((checkout.verification?.round ?? 0) >= 2, 'the scripted bug was caught and repaired');
      assert.equal(run.integration.verification?.status, 'passed');
      assert.ok(run.usage.cost !== null && run.usage.cost > 0);

      await s.handle({ type: 'task/requestChanges', taskId: 'receipt', comments: 'Export the dollars helper too.' });
      run = await until(
        s,
        'the receipt redone and the run complete again',
        (x) => (x.run && !x.run.live && x.run.status === 'completed' ? x.run : null),
        120_000,
      );
      assert.equal(run.tasks.find((t) => t.id === 'receipt')?.status, 'merged');
      assert.match(
        repo.git(['show', `foreman/${run.runId}/integration:src/receipt.js`]),
        /module\.exports = \{ formatReceipt, dollars \};/,
      );

      await s.handle({ type: 'run/apply', mode: 'squash' });
      assert.match(repo.read('src/checkout.js'), /applyDiscount\(cartTotal\(items\), code\)/);
      assert.match(repo.read('src/receipt.js'), /dollars \}/);
      assert.equal(
        repo.git(['log', '--format=%s', '-1']).trim(),
        state(s).run!.spec.split('\n')[0].slice(0, 72).trim(),
      );
    } finally {
      await s.dispose();
      repo.cleanup();
      if (testContext !== undefined) process.env.NODE_TEST_CONTEXT = testContext;
    }
  },
);

test(
  'on a repository that is not the sample the demo refuses, saying so, and the panel opens the sample instead',
  { timeout: 60_000 },
  async () => {
    const repo = makeRepo({ files: { 'package.json': '{ "name": "demo-shop", "private": true }\n' } });
    const opened: string[] = [];
    const host = testHost(repo.root, testSettings(repo));
    Object.assign(host, {
      sampleSource: join(PROJECT_ROOT, 'samples', 'demo-shop'),
      openFolder: async (folder: string) => void opened.push(folder),
    });
    const s = await session(host);
    try {
      let st = state(s);
      assert.equal(st.sample, false, 'a package named demo-shop is not the sample: the marker is');
      const e = await refused(s, { type: 'backend/useDemo' }, 'invalid');
      assert.match(e.message, /^The demo backend only knows Foreman's sample repository/);
      assert.ok(e.message.includes(repo.root), 'it names the repository');
      assert.match(e.message, /"Open the sample"/);
      st = state(s);
      assert.equal(st.options.backend, null, 'the demo is not chosen');
      assert.deepEqual(st.backends, [], 'nor offered in the backend list');

      // Asked for by name all the same, it is not taken; planning says how to get to the demo.
      const chosen = await refused(
        s,
        { type: 'options/change', options: { backend: 'demo', model: 'scripted-demo' } },
        'invalid',
      );
      assert.equal(chosen.message, e.message);
      assert.equal(state(s).options.backend, null);
      await s.handle({ type: 'spec/change', spec: 'Add a CONTRIBUTING.md.' });
      const planning = await refused(s, { type: 'plan/start' }, 'invalid');
      assert.match(
        planning.message,
        /to try the demo backend, open the sample repository it knows \("Open the sample"\)/,
      );
      assert.equal(state(s).plan, null);

      // A scripted server added by hand with the demo's model is the demo's script too: refused alike.
      await s.handle({
        type: 'backend/add',
        name: 'by-hand',
        baseUrl: 'http://127.0.0.1:9/v1',
        model: 'scripted-demo',
      });
      assert.equal(state(s).options.backend, 'by-hand');
      assert.equal((await refused(s, { type: 'plan/start' }, 'invalid')).message, e.message);
      assert.ok(!existsSync(join(repo.root, '.git', 'foreman', 'runs')), 'no run was started');

      await s.handle({ type: 'sample/open' });
      assert.equal(opened.length, 1);
      const sample = opened[0];
      try {
        assert.match(sample, /foreman-sample-[^/]+\/demo-shop$/);
        const git = (...args: string[]) => execFileSync('git', args, { cwd: sample, encoding: 'utf8' }).trim();
        assert.equal(git('log', '--format=%s'), 'The shop before Foreman', 'one commit');
        assert.equal(git('branch', '--show-current'), 'main');
        assert.equal(git('status', '--porcelain'), '', 'a clean checkout');
        assert.deepEqual(
          readdirSync(sample).sort(),
          readdirSync(join(PROJECT_ROOT, 'samples', 'demo-shop'))
            .concat('.git')
            .sort(),
        );

        // The copy is the sample: there the demo is offered and chosen.
        const there = await session(testHost(sample, testSettings(repo)));
        try {
          assert.equal(state(there).sample, true);
          await there.handle({ type: 'backend/useDemo' });
          assert.equal(state(there).options.backend, 'demo');
        } finally {
          await there.dispose();
        }
      } finally {
        rmSync(dirname(sample), { recursive: true, force: true });
      }
    } finally {
      await s.dispose();
      repo.cleanup();
    }
  },
);
