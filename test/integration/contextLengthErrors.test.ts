/**
 * Context-length refusals as servers send them, through the real openai SDK and Foreman's client:
 * each body below is answered by a plain HTTP server, and the client must fail with reason
 * `context_length` after one attempt (a longer wait does not make a prompt shorter), with the
 * window still readable from the message. vLLM before 0.10 and SGLang send their error at the top
 * level of the body, where the SDK does not look; infra/errorBodies.ts hands it over in OpenAI's
 * shape (without it these fail as "400 status code (no body)", bad_request).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { contextWindowIn } from '../../src/core/compaction';
import { ModelError } from '../../src/core/model';
import { createOpenAIClient } from '../../src/infra/openaiClient';

/** The bodies real servers send (status 400 unless said). */
const BODIES: { server: string; status?: number; body: unknown; window: number | null }[] = [
  {
    server: 'vLLM 0.10+',
    body: {
      error: {
        message:
          "This model's maximum context length is 4096 tokens. However, your request has 5000 input tokens. Please reduce the length of the input messages.",
        type: 'BadRequestError',
        param: null,
        code: 400,
      },
    },
    window: 4096,
  },
  {
    server: 'OpenAI',
    body: {
      error: {
        message:
          "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens. Please reduce the length of the messages.",
        type: 'invalid_request_error',
        param: 'messages',
        code: 'context_length_exceeded',
      },
    },
    window: 128000,
  },
  {
    server: 'llama.cpp',
    body: {
      error: {
        code: 400,
        message: 'request (5000 tokens) exceeds the available context size (4096 tokens), try increasing it',
        type: 'exceed_context_size_error',
        n_prompt_tokens: 5000,
        n_ctx: 4096,
      },
    },
    window: 4096,
  },
  {
    server: 'SGLang (top-level error)',
    body: {
      object: 'error',
      message: "The input (5000 tokens) is longer than the model's context length (4096 tokens).",
      type: 'BadRequestError',
      param: null,
      code: 400,
    },
    window: 4096,
  },
  {
    server: 'vLLM before 0.10 (top-level error)',
    body: {
      object: 'error',
      message:
        "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens in the messages, Please reduce the length of the messages.",
      type: 'BadRequestError',
      param: null,
      code: 400,
    },
    window: 4096,
  },
];

async function answering(status: number, body: unknown, fn: (baseUrl: string, hits: () => number) => Promise<void>) {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    req.resume();
    req.on('end', () => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, () => hits);
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

async function failure(baseUrl: string): Promise<ModelError> {
  const client = createOpenAIClient({ baseUrl, model: 'm', retryBaseMs: 5, retryMaxMs: 10, requestTimeoutMs: 5_000 });
  try {
    await client.complete({ messages: [{ role: 'user', content: 'hello' }] });
  } catch (e) {
    if (ModelError.is(e)) return e;
    throw e;
  }
  throw new Error('the request succeeded');
}

for (const { server, status, body, window } of BODIES) {
  test(`${server}'s refusal is context_length, not retried, and names the window`, async () => {
    await answering(status ?? 400, body, async (baseUrl, hits) => {
      const e = await failure(baseUrl);
      assert.equal(e.reason, 'context_length', e.message);
      assert.equal(hits(), 1, 'one attempt');
      assert.equal(contextWindowIn(e.message), window);
    });
  });
}

test("an ordinary 400 stays bad_request, with the server's words whether nested or top-level", async () => {
  const nested = {
    error: { message: "Invalid 'tools' format", type: 'invalid_request_error', param: 'tools', code: null },
  };
  await answering(400, nested, async (baseUrl) => {
    const e = await failure(baseUrl);
    assert.equal(e.reason, 'bad_request');
    assert.match(e.message, /Invalid 'tools' format/);
  });
  const top = { object: 'error', message: 'top_logprobs must be set', type: 'BadRequestError', param: null, code: 400 };
  await answering(400, top, async (baseUrl) => {
    const e = await failure(baseUrl);
    assert.equal(e.reason, 'bad_request');
    assert.match(e.message, /top_logprobs must be set/);
  });
});
