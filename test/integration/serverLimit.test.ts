// A server's own limit of requests at once, read where llama.cpp, SGLang and TGI publish it, over
// real HTTP: from the scripted server in each shape, SGLang's limit inside `internal_states`, and
// nothing from a server that publishes none (as vLLM) or from nothing listening. The probe carries
// it, and `foreman backends` shows the limit each endpoint of foreman.json gets (limitOf, which
// the fabric's clients are made with).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readServerLimit, serverRoot } from '../../src/infra/serverLimit';
import { probeCapabilities } from '../../src/infra/capabilities';
import { createScriptedServer } from '../../src/scripted/server';
import type { ScriptedServerOptions } from '../../src/scripted/server';
import { text } from '../../src/scripted/scenario';
import { freePort, makeRepo, runCli } from './runHarness';

async function withServer<T>(
  published: ScriptedServerOptions['publishedLimit'],
  fn: (url: string) => Promise<T>,
): Promise<T> {
  const server = await createScriptedServer({ responder: () => text('ok'), model: 'm', publishedLimit: published });
  try {
    return await fn(server.url);
  } finally {
    await server.close();
  }
}

test('the limit is read where each server publishes it, and named', async () => {
  const cases = [
    { as: 'llama.cpp', requests: 4, source: "total_slots of llama.cpp's /props" },
    { as: 'sglang', requests: 48, source: "max_running_requests of SGLang's /get_server_info" },
    { as: 'tgi', requests: 128, source: "max_concurrent_requests of TGI's /info" },
  ] as const;
  for (const c of cases) {
    const found = await withServer({ as: c.as, requests: c.requests }, (url) => readServerLimit({ baseUrl: url }));
    assert.deepEqual(found, { requests: c.requests, source: c.source }, c.as);
  }
  assert.equal(await withServer(null, (url) => readServerLimit({ baseUrl: url })), null, 'vLLM publishes none');
});

test("SGLang's limit inside internal_states, a null top-level field, and answers that are no limit", async () => {
  const bodies: Record<string, unknown> = {
    '/get_server_info': { max_running_requests: null, internal_states: [{ max_running_requests: 24 }] },
    '/props': { total_slots: 0 },
    '/info': 'not json',
  };
  const server = http.createServer((req, res) => {
    const body = bodies[req.url ?? ''];
    if (body === undefined) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    assert.deepEqual(await readServerLimit({ baseUrl: base }), {
      requests: 24,
      source: "max_running_requests of SGLang's /get_server_info",
    });
  } finally {
    server.close();
  }
});

test('nothing listening: no limit, and no error', async () => {
  const port = await freePort();
  assert.equal(await readServerLimit({ baseUrl: `http://127.0.0.1:${port}/v1` }, 1_000), null);
  assert.equal(serverRoot('http://h:8080/v1/'), 'http://h:8080');
  assert.equal(serverRoot('http://h:8080/api'), 'http://h:8080/api');
});

test(
  'the probe carries the limit, and foreman backends shows the limit each endpoint gets and why',
  { timeout: 60_000 },
  async () => {
    await withServer({ as: 'llama.cpp', requests: 3 }, async (url) => {
      const outcome = await probeCapabilities({ baseUrl: url, model: 'm' });
      assert.ok(outcome.ok);
      assert.equal(outcome.capabilities.requestLimit, 3);
      assert.equal(outcome.capabilities.requestLimitSource, "total_slots of llama.cpp's /props");
      const repo = makeRepo();
      try {
        const backends = [
          { name: 'slots', baseUrl: url, models: ['m'] },
          { name: 'fixed', baseUrl: url, models: ['m'], maxConcurrentRequests: 7 },
        ];
        writeFileSync(join(repo.root, 'foreman.json'), JSON.stringify({ backends }));
        const shown = await runCli(['backends'], { repo });
        assert.equal(shown.code, 0, shown.stderr);
        assert.match(
          shown.stdout,
          /slots .* 3 requests at once \(as the server reports: total_slots of llama\.cpp's \/props\)/,
        );
        assert.match(shown.stdout, /fixed .* 7 requests at once \(as the settings say\)/);
      } finally {
        repo.cleanup();
      }
    });
  },
);
