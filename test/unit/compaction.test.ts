/**
 * The compaction rules (core/compaction.ts): the prefix before the model's first turn stays byte
 * for byte, Foreman's notes and the recent turns stay whole, no message is removed so every tool
 * result still answers its call, older long results become one line naming the tool and its
 * target, a second pass changes nothing, and servers' context-length errors are recognised with
 * the window they name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  approxTokens,
  compactConversation,
  contextWindowIn,
  cutToFit,
  isContextLengthError,
  nextPartSize,
  promptTokensIn,
} from '../../src/core/compaction';
import type { ChatMessage } from '../../src/core/model';

const big = (n: number) => Array.from({ length: n }, (_, i) => `line ${i} ${'x'.repeat(30)}`).join('\n');

function conversation(): ChatMessage[] {
  const m: ChatMessage[] = [
    { role: 'system', content: `shared system prompt ${big(50)}` },
    { role: 'user', content: `[task t1] Do it. Acceptance: ${big(20)}` },
  ];
  for (let i = 1; i <= 4; i++) {
    m.push({
      role: 'assistant',
      content: i === 1 ? `thinking ${'y'.repeat(500)}` : null,
      toolCalls: [
        { id: `c${i}a`, name: 'read_file', arguments: JSON.stringify({ path: `src/f${i}.ts` }) },
        { id: `c${i}b`, name: 'write_file', arguments: JSON.stringify({ path: `src/g${i}.ts`, content: big(30) }) },
      ],
    });
    m.push({ role: 'tool', toolCallId: `c${i}a`, content: big(240) });
    m.push({ role: 'tool', toolCallId: `c${i}b`, content: `wrote src/g${i}.ts` });
    if (i === 2) m.push({ role: 'user', content: `Verification failed (repair round 1 of 2). ${big(40)}` });
  }
  return m;
}

test('the prefix, the notes and the recent turns stay byte for byte; every result still answers its call', () => {
  const before = conversation();
  const { messages: after, elided } = compactConversation(before, 2);
  assert.equal(after.length, before.length, 'no message removed');
  assert.deepEqual(after.slice(0, 2), before.slice(0, 2), 'system prompt and task untouched');
  const turns = before.flatMap((m, i) => (m.role === 'assistant' ? [i] : []));
  const recent = turns[turns.length - 2];
  assert.deepEqual(after.slice(recent), before.slice(recent), 'the last two turns untouched');
  const note = before.findIndex((m) => m.role === 'user' && m.content.startsWith('Verification failed'));
  assert.deepEqual(after[note], before[note], "Foreman's note untouched");
  assert.deepEqual(
    after.map((m) => m.role),
    before.map((m) => m.role),
  );
  const calls = new Set<string>();
  for (const m of after) {
    if (m.role === 'assistant') for (const c of m.toolCalls ?? []) calls.add(c.id);
    if (m.role === 'tool') assert.ok(calls.has(m.toolCallId), `${m.toolCallId} answers a call before it`);
  }
  assert.equal(elided, 4, 'two older turns (text, arguments) and their two long read results');
  assert.equal(
    after[3].role === 'tool' && after[3].content,
    `[read_file src/f1.ts: 240 lines, ${big(240).length.toLocaleString('en-US')} characters, elided to fit the context window]`,
  );
  assert.equal(after[4].role === 'tool' && after[4].content, 'wrote src/g1.ts', 'a short result stays');
  const first = after[2];
  assert.ok(first.role === 'assistant');
  assert.match(first.content ?? '', /^thinking y+… \[\d+ more characters, elided to fit the context window\]$/);
  assert.deepEqual(JSON.parse(first.toolCalls![1].arguments), {
    path: 'src/g1.ts',
    content: `[${big(30).length.toLocaleString('en-US')} characters, elided to fit the context window]`,
  });
  assert.equal(first.toolCalls![0].arguments, before[2].role === 'assistant' ? before[2].toolCalls![0].arguments : '');
  assert.ok(approxTokens(before) - approxTokens(after) > big(240).length / 4, "more than one read result's worth shed");
});

test('compacting again at the same setting changes nothing; fewer turns kept shortens more; no turns yet, nothing', () => {
  const once = compactConversation(conversation(), 2).messages;
  const twice = compactConversation(once, 2);
  assert.equal(twice.elided, 0);
  assert.deepEqual(twice.messages, once);
  const fewer = compactConversation(once, 1);
  assert.ok(fewer.elided > 0);
  assert.deepEqual(compactConversation(conversation().slice(0, 2), 1), {
    messages: conversation().slice(0, 2),
    elided: 0,
  });
});

test("servers' context-length errors are recognised, with the window they name", () => {
  const cases: [string, unknown, number | null][] = [
    // vLLM 0.10+ (the scripted server sends this one)
    [
      "400 This model's maximum context length is 4096 tokens. However, your request has 5000 input tokens. Please reduce the length of the input messages.",
      400,
      4096,
    ],
    // vLLM before 0.10, OpenAI
    [
      "This model's maximum context length is 32768 tokens. However, you requested 33000 tokens (32000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion.",
      undefined,
      32768,
    ],
    ['Your input exceeds the context window of this model.', 'context_length_exceeded', null],
    // vLLM's renderer
    ["Input length (196905) exceeds model's maximum context length (196608).", undefined, 196608],
    // llama.cpp, newer and older
    [
      'request (5000 tokens) exceeds the available context size (4096 tokens), try increasing it',
      'exceed_context_size_error',
      4096,
    ],
    ['the request exceeds the available context size, try increasing it', 400, null],
    // SGLang
    ["The input (5000 tokens) is longer than the model's context length (4096 tokens).", undefined, 4096],
    // TGI
    ['Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 5000', undefined, 4096],
  ];
  for (const [message, code, window] of cases) {
    assert.ok(isContextLengthError(message, code), message);
    assert.equal(contextWindowIn(message), window, message);
  }
  assert.equal(isContextLengthError("Invalid 'tools' format", 400), false);
  assert.equal(isContextLengthError('response_format json_schema is not supported by this server'), false);
});

test("the prompt's size is read from each server's refusal", () => {
  const cases: [string, number | null][] = [
    [
      "This model's maximum context length is 4096 tokens. However, your request has 5000 input tokens. Please reduce the length of the input messages.",
      5000,
    ],
    [
      "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens. Please reduce the length of the messages.",
      130000,
    ],
    [
      "This model's maximum context length is 32768 tokens. However, you requested 33000 tokens (32000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion.",
      32000,
    ],
    [
      "This model's maximum context length is 4096 tokens. However, you requested 5000 tokens in the messages, Please reduce the length of the messages.",
      5000,
    ],
    ["Input length (196905) exceeds model's maximum context length (196608).", 196905],
    ['request (5000 tokens) exceeds the available context size (4096 tokens), try increasing it', 5000],
    ["The input (5000 tokens) is longer than the model's context length (4096 tokens).", 5000],
    [
      'Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 3000 `inputs` tokens and 1500 `max_new_tokens`',
      3000,
    ],
    ['Your input exceeds the context window of this model.', null],
    ['the request exceeds the available context size, try increasing it', null],
  ];
  for (const [message, tokens] of cases) assert.equal(promptTokensIn(message), tokens, message);
});

const vllm = (window: number, tokens: number) =>
  `This model's maximum context length is ${window} tokens. However, your request has ${tokens} input tokens.`;

test("a cut part is sized from the refusal's own tokens-per-character, to 90% of the window", () => {
  // 40,000 characters were 10,000 tokens: 4 a token, so the window holds 16,000; aim at 14,400.
  assert.equal(nextPartSize({ promptChars: 40_000, partChars: 36_000 }, vllm(4000, 10_000)), 10_400);
  // The same prompt counted at 2 characters a token: the window holds 8,000 characters; aim at 7,200.
  assert.equal(nextPartSize({ promptChars: 40_000, partChars: 36_000 }, vllm(4000, 20_000)), 3_200);
  // More room than half: the numbers keep more than halving would.
  assert.equal(nextPartSize({ promptChars: 10_000, partChars: 8_000 }, vllm(2400, 2500)), 6_640);
});

test('a refusal without both numbers halves the part; one whose numbers say it fits halves it too', () => {
  const noNumbers = 'the request exceeds the available context size, try increasing it';
  assert.equal(nextPartSize({ promptChars: 40_000, partChars: 36_000 }, noNumbers), 18_000);
  assert.equal(nextPartSize({ promptChars: 40_001, partChars: 36_001 }, noNumbers), 18_000);
  // TGI counts the output tokens asked for: 3,000 input tokens in a 4,096 window was refused all the same.
  const tgi = 'Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 3000 `inputs` tokens';
  assert.equal(nextPartSize({ promptChars: 12_000, partChars: 6_000 }, tgi), 3_000);
});

test('no size when the rest of the prompt alone is over the window, or the part is at its floor', () => {
  // 40,000 characters were 10,000 tokens; the window holds 16,000 characters and the rest is 20,000.
  assert.equal(nextPartSize({ promptChars: 40_000, partChars: 20_000 }, vllm(4000, 10_000)), null);
  assert.equal(nextPartSize({ promptChars: 5_000, partChars: 0 }, 'maximum context length'), null);
  assert.equal(nextPartSize({ promptChars: 5_000, partChars: 1_000 }, vllm(1000, 1250), 1_000), null);
  // Under the floor becomes the floor, once.
  assert.equal(nextPartSize({ promptChars: 40_000, partChars: 36_000 }, vllm(1200, 10_000), 1_000), 1_000);
  assert.equal(nextPartSize({ promptChars: 4_000, partChars: 1_500 }, 'maximum context length', 1_000), 1_000);
});

test('a cut keeps whole lines and says how much of the whole is not shown', () => {
  const text = Array.from({ length: 100 }, (_, i) => `line ${String(i).padStart(3, '0')}`).join('\n') + '\n';
  const { text: cut, shown } = cutToFit(text, 100, 'the diff');
  assert.equal(shown, 99);
  const lines = cut.split('\n');
  assert.deepEqual(
    lines.slice(0, -2),
    Array.from({ length: 11 }, (_, i) => `line ${String(i).padStart(3, '0')}`),
  );
  assert.equal(
    lines[lines.length - 2],
    `[the diff cut to fit the model's context window: ${(text.length - 99).toLocaleString('en-US')} characters of ${text.length.toLocaleString('en-US')} not shown]`,
  );
  assert.equal(
    cutToFit(text, 100, 'the diff', 52_000).text.split('\n').at(-2),
    "[the diff cut to fit the model's context window: 51,901 characters of 52,000 not shown]",
    'the total of a text that was itself cut',
  );
  assert.equal(
    cutToFit(text, 0, 'the repository view').text,
    `[the repository view cut to fit the model's context window: 900 characters of 900 not shown]\n`,
  );
  assert.equal(
    cutToFit('short\n', 100, 'the diff', 900).text,
    "short\n[the diff cut to fit the model's context window: 894 characters of 900 not shown]\n",
    'a text the repository had already cut',
  );
  assert.deepEqual(cutToFit('short\n', 100, 'the diff'), { text: 'short\n', shown: 6 }, 'nothing lost, nothing said');
});
