/**
 * The demo backend in the Lead session: the scripted server starts in process, plans the sample
 * spec on a copy of samples/demo-shop, runs it with the sample's own `npm test` as the check
 * (detected from its package.json), takes a request for changes on the receipt task, and is
 * applied onto the sample's branch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeRepo, PROJECT_ROOT } from './runHarness';
import { session, settledRun, state, testHost, testSettings, until } from './leadHarness';

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
