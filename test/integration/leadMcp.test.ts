/**
 * The developer's MCP servers in the Lead session: `foreman.mcpServers` from the user's settings,
 * the server's pin asked about in the editor's notification (for the run, no task) and approved
 * there, the agent's call answered by `mcp-server-everything` in the task's sandbox. The real
 * engine, the real scripted server, real git, the real sandbox.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { DeskAnswer } from '../../src/core/approvalDesk';
import type { ApprovalQuestion } from '../../src/app/leadHost';
import { toolCall } from '../../src/scripted/scenario';
import { contentText } from '../../src/scripted/wire';
import {
  latestRunId,
  makeRepo,
  planReply,
  PROJECT_ROOT,
  rawTask,
  readRun,
  requestsFor,
  startServer,
} from './runHarness';
import { serverBackend, session, settledRun, testHost, testSettings } from './leadHarness';

test(
  'the panel asks about a new MCP server for the run, and the agent calls its tool',
  { timeout: 120_000 },
  async () => {
    const repo = makeRepo();
    const server = await startServer({
      planner: [planReply([rawTask('one')])],
      agents: {
        one: [toolCall('mcp__everything__echo', { message: 'from the panel' }), toolCall('finish', { summary: 'ok' })],
      },
    });
    const questions: ApprovalQuestion[] = [];
    const everything = {
      command: join(PROJECT_ROOT, 'node_modules', '.bin', 'mcp-server-everything'),
      tools: { '*': 'allow' as const },
    };
    const host = testHost(
      repo.root,
      testSettings(repo, {
        backends: [serverBackend(server.url)],
        concurrency: 1,
        mcpServers: { user: { everything }, workspace: undefined },
      }),
    );
    host.askApproval = (q: ApprovalQuestion): Promise<DeskAnswer | undefined> => {
      questions.push(q);
      return Promise.resolve({ choice: 'once' });
    };
    const s = await session(host);
    try {
      await s.handle({ type: 'spec/change', spec: 'Call the echo tool.' });
      await s.handle({ type: 'plan/start' });
      await s.handle({ type: 'run/start' });
      const run = await settledRun(s, 60_000);
      assert.equal(run.status, 'completed', JSON.stringify(run.tasks.map((t) => [t.id, t.status, t.reason])));
      assert.equal(questions.length, 1);
      assert.deepEqual(questions[0].tasks, ['this run']);
      assert.equal(questions[0].rule, 'mcp-pin-new');
      assert.match(questions[0].command, /^mcp-server everything [0-9a-f]{12}$/);
      const last = requestsFor(server, 'agent', 'one').at(-1);
      const results = (last?.body.messages ?? []).filter((m) => m.role === 'tool').map(contentText);
      assert.match(results[0], /Echo: from the panel/);
      const { events } = await readRun(repo, await latestRunId(repo));
      assert.deepEqual(
        events.flatMap((e) => (e.type === 'mcp' ? [[e.server, e.status, e.by]] : [])),
        [['everything', 'approved', 'user']],
      );
    } finally {
      await s.dispose();
      await server.close();
      repo.cleanup();
    }
  },
);
