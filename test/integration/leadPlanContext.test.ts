/**
 * Planning from the Lead panel against a model with a small context window: a repository view too
 * long for it is cut and the plan made, with a notice saying so; a spec that cannot fit makes the
 * request's error the planner's own sentence naming the window and the spec's size, not the
 * backend's raw words under "the backend failed". In process: a real git repository, the scripted
 * server given a context window (vLLM's HTTP 400 and words), the real openai SDK.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeRepo, planReply, rawTask, requestsFor, startServer } from './runHarness';
import { refused, serverBackend, session, state, testHost, testSettings } from './leadHarness';

test(
  "a spec too long for the planner's window is refused with the window and the spec's size",
  { timeout: 90_000 },
  async () => {
    const repo = makeRepo();
    const server = await startServer({ planner: [planReply([rawTask('one')])] }, { contextWindow: 2_000 });
    const host = testHost(repo.root, testSettings(repo, { backends: [serverBackend(server.url)] }));
    const s = await session(host);
    const spec = Array.from(
      { length: 200 },
      (_, i) => `Requirement ${String(i).padStart(3, '0')}: list part ${i}.`,
    ).join('\n');
    try {
      await s.handle({ type: 'spec/change', spec });
      const e = await refused(s, { type: 'plan/start' }, 'backend');
      assert.match(
        e.message,
        /^The spec does not fit the planner model's context window of 2,000 tokens: it is [\d,]+ characters \(about [\d,]+ tokens at four characters a token\), and with the planner's instructions and no repository view the prompt is still too long \(the backend said: .*maximum context length is 2000 tokens/,
      );
      assert.equal(
        requestsFor(server, 'planner').length,
        1,
        "the refusal's numbers said at once that no view would do",
      );
    } finally {
      await s.dispose();
      await server.close();
      repo.cleanup();
    }
  },
);

test(
  'a repository view too long for the planner window is cut, the plan made and a notice says so',
  { timeout: 90_000 },
  async () => {
    const files: Record<string, string> = {
      'README.md': `# Parts\n\n${'How the parts are kept, said at length.\n'.repeat(120)}`,
    };
    for (let i = 0; i < 300; i++) files[`lib/part-${String(i).padStart(3, '0')}.txt`] = `part ${i}\n`;
    const repo = makeRepo({ files });
    const server = await startServer({ planner: [planReply([rawTask('one')])] }, { contextWindow: 2_000 });
    const host = testHost(repo.root, testSettings(repo, { backends: [serverBackend(server.url)] }));
    const s = await session(host);
    try {
      await s.handle({ type: 'spec/change', spec: 'List the parts.' });
      await s.handle({ type: 'plan/start' });
      const st = state(s);
      assert.equal(st.phase, 'plan');
      assert.deepEqual(
        st.plan?.tasks.map((t) => t.id),
        ['one'],
      );
      assert.ok(requestsFor(server, 'planner').length >= 2, 'refused, then asked again');
      assert.ok(
        st.notices.some((n) =>
          /^The repository view was too long for the planner model's context window of 2,000 tokens: the planner was shown [\d,]+ of its [\d,]+ characters\.$/.test(
            n.text,
          ),
        ),
        JSON.stringify(st.notices),
      );
    } finally {
      await s.dispose();
      await server.close();
      repo.cleanup();
    }
  },
);
