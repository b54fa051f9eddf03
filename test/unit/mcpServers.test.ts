/**
 * Reading the developer's MCP servers (src/app/mcpServers.ts) from `.vscode/mcp.json` in VS Code's
 * format (comments and trailing commas included) and `foreman.mcpServers`: variables resolved or
 * refused in words (in the editor, inputs asked for once through a fake asker and kept), workspace servers left out of an untrusted workspace, and permissions that a
 * workspace can only tighten.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inputVariable } from '../../src/app/mcpInputs';
import { readMcpServers, stripJsonc } from '../../src/app/mcpServers';
import type { McpInput, McpInputPort } from '../../src/app/mcpInputs';
import type { McpServerList, McpSources } from '../../src/app/mcpServers';
import { SettingsError } from '../../src/app/settings';

const MCP_JSON = `{
  // VS Code's own format
  "servers": {
    "github": {
      "type": "http",
      "url": "https://api.example.com/mcp/",
      "headers": { "Authorization": "Bearer \${input:gh-token}" },
    },
    "fs": { "command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "\${workspaceFolder}"] }, /* stdio by default */
  },
  "inputs": [{ "type": "promptString", "id": "gh-token", "description": "GitHub token", "password": true }],
}`;

function withRoot(mcpJson: string | null, run: (root: string) => Promise<void>): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), 'foreman-mcpcfg-'));
  if (mcpJson !== null) {
    mkdirSync(join(root, '.vscode'));
    writeFileSync(join(root, '.vscode', 'mcp.json'), mcpJson);
  }
  return run(root).finally(() => rmSync(root, { recursive: true, force: true }));
}

function sources(root: string, over: Partial<McpSources> = {}): McpSources {
  return {
    root,
    workspace: undefined,
    workspaceOrigin: 'foreman.json',
    user: undefined,
    trusted: true,
    env: {},
    ...over,
  };
}

test('JSONC: comments and trailing commas go, strings stay as they are', () => {
  assert.deepEqual(JSON.parse(stripJsonc('{"a": "// not a comment", /* x */ "b": [1, 2,], // y\n}')), {
    a: '// not a comment',
    b: [1, 2],
  });
});

test('.vscode/mcp.json: an input given in the environment is used; ${workspaceFolder} stays for each instance', () =>
  withRoot(MCP_JSON, async (root) => {
    const list = await readMcpServers(sources(root, { env: { [inputVariable('gh-token')]: 'SEKRIT' } }));
    const byName = Object.fromEntries(list.servers.map((s) => [s.name, s]));
    assert.deepEqual(byName.github.transport, {
      type: 'http',
      url: 'https://api.example.com/mcp/',
      headers: { Authorization: 'Bearer SEKRIT' },
    });
    assert.equal(byName.fs.transport.type, 'stdio');
    assert.deepEqual(byName.fs.transport.type === 'stdio' && byName.fs.transport.args.at(-1), '${workspaceFolder}');
    assert.equal(byName.github.source, 'workspace');
    assert.doesNotMatch(JSON.stringify(byName.github.written), /SEKRIT/, 'the pin covers the variable, not its value');
  }));

test('an ${input:…} Foreman cannot resolve is a clear error naming the variable to set, never a blank', () =>
  withRoot(MCP_JSON, async (root) => {
    await assert.rejects(
      readMcpServers(sources(root)),
      (e: unknown) =>
        e instanceof SettingsError &&
        /uses \$\{input:gh-token\} \("GitHub token"\).*set FOREMAN_MCP_INPUT_GH_TOKEN/.test(e.message),
    );
  }));

/** An editor's asker for tests: answers from a script, keeps answers in a Map, and records each question. */
function fakeInputs(answer: string | undefined) {
  const kept = new Map<string, string>();
  const asked: { input: McpInput; server: string }[] = [];
  const port: McpInputPort = {
    stored: async (key) => kept.get(key),
    store: async (key, value) => void kept.set(key, value),
    ask: async (input, server) => {
      asked.push({ input, server });
      return answer;
    },
  };
  return { port, kept, asked };
}

test('in the editor an input is asked for once, with its description and hidden as a password, then kept', () =>
  withRoot(MCP_JSON, async (root) => {
    const editor = fakeInputs('SEKRIT');
    const first = await readMcpServers(sources(root, { inputs: editor.port }));
    assert.deepEqual(editor.asked, [
      {
        input: { type: 'promptString', id: 'gh-token', description: 'GitHub token', password: true },
        server: 'github',
      },
    ]);
    const github = first.servers.find((s) => s.name === 'github');
    assert.deepEqual(github?.transport.type === 'http' && github.transport.headers, { Authorization: 'Bearer SEKRIT' });
    assert.doesNotMatch(JSON.stringify(github?.written), /SEKRIT/, 'the pin covers the variable, not its value');
    assert.deepEqual([...editor.kept], [[join(root, '.vscode', 'mcp.json') + '#gh-token', 'SEKRIT']]);

    const again = await readMcpServers(sources(root, { inputs: editor.port }));
    assert.equal(editor.asked.length, 1, 'the kept answer is used; nothing is asked again');
    const t = again.servers.find((s) => s.name === 'github')?.transport;
    assert.deepEqual(t?.type === 'http' && t.headers, { Authorization: 'Bearer SEKRIT' });

    const fresh = fakeInputs('unused');
    const fromEnv = await readMcpServers(
      sources(root, { inputs: fresh.port, env: { [inputVariable('gh-token')]: 'FROM-ENV' } }),
    );
    assert.equal(fresh.asked.length, 0, 'the environment wins, as on the command line');
    const e = fromEnv.servers.find((s) => s.name === 'github')?.transport;
    assert.deepEqual(e?.type === 'http' && e.headers, { Authorization: 'Bearer FROM-ENV' });
  }));

test('a dismissed question refuses the server in words; an untrusted workspace is never asked', () =>
  withRoot(MCP_JSON, async (root) => {
    const dismissed = fakeInputs(undefined);
    await assert.rejects(
      readMcpServers(sources(root, { inputs: dismissed.port })),
      (e: unknown) =>
        e instanceof SettingsError &&
        /MCP server "github" .* needs \$\{input:gh-token\} \("GitHub token"\), and the question was closed unanswered/.test(
          e.message,
        ),
    );
    assert.equal(dismissed.kept.size, 0, 'nothing is kept');
    const untrusted = fakeInputs('SEKRIT');
    await readMcpServers(sources(root, { trusted: false, inputs: untrusted.port }));
    assert.equal(untrusted.asked.length, 0);
  }));

const PICK_JSON = `{ "servers": { "s": { "command": "srv", "args": ["--region", "\${input:region}"] } },
  "inputs": [{ "type": "pickString", "id": "region", "description": "Which region",
               "options": ["eu", { "label": "United States", "value": "us" }, "ap"], "default": "us" }] }`;

/** The stdio arguments of server `s`. */
function argsOf(list: McpServerList): string[] | undefined {
  const t = list.servers.find((x) => x.name === 's')?.transport;
  return t?.type === 'stdio' ? t.args : undefined;
}

test('a pickString input is asked with its options and default, kept, reused; the environment still wins', () =>
  withRoot(PICK_JSON, async (root) => {
    const editor = fakeInputs('ap');
    const first = await readMcpServers(sources(root, { inputs: editor.port }));
    assert.deepEqual(editor.asked, [
      {
        input: {
          type: 'pickString',
          id: 'region',
          description: 'Which region',
          options: [{ value: 'eu' }, { label: 'United States', value: 'us' }, { value: 'ap' }],
          default: 'us',
        },
        server: 's',
      },
    ]);
    assert.deepEqual(argsOf(first), ['--region', 'ap']);
    assert.deepEqual([...editor.kept], [[join(root, '.vscode', 'mcp.json') + '#region', 'ap']]);

    const again = await readMcpServers(sources(root, { inputs: editor.port }));
    assert.equal(editor.asked.length, 1, 'the kept pick is used; nothing is asked again');
    assert.deepEqual(argsOf(again), ['--region', 'ap']);

    const fresh = fakeInputs('eu');
    const fromEnv = await readMcpServers(
      sources(root, { inputs: fresh.port, env: { [inputVariable('region')]: 'FROM-ENV' } }),
    );
    assert.equal(fresh.asked.length, 0, 'the environment wins');
    assert.deepEqual(argsOf(fromEnv), ['--region', 'FROM-ENV']);
  }));

test('a kept pick the file no longer offers is asked again; a dismissed pick refuses the server in words', () =>
  withRoot(PICK_JSON, async (root) => {
    const editor = fakeInputs('eu');
    editor.kept.set(join(root, '.vscode', 'mcp.json') + '#region', 'mars');
    const list = await readMcpServers(sources(root, { inputs: editor.port }));
    assert.equal(editor.asked.length, 1);
    assert.deepEqual(argsOf(list), ['--region', 'eu']);

    const dismissed = fakeInputs(undefined);
    await assert.rejects(
      readMcpServers(sources(root, { inputs: dismissed.port })),
      (e: unknown) =>
        e instanceof SettingsError &&
        /MCP server "s" .* needs \$\{input:region\} \("Which region"\), and the question was closed unanswered/.test(
          e.message,
        ),
    );
    assert.equal(dismissed.asked.length, 1);
    assert.equal(dismissed.kept.size, 0, 'nothing is kept');
  }));

test('an input Foreman cannot ask for (a command input, a pickString without options) names the variable that gives it', async () => {
  await withRoot(
    `{ "servers": { "s": { "command": "srv", "args": ["\${input:region}"] } },
       "inputs": [{ "type": "command", "id": "region", "command": "ext.pickRegion" }] }`,
    async (root) => {
      const editor = fakeInputs('eu');
      await assert.rejects(
        readMcpServers(sources(root, { inputs: editor.port })),
        /a "command" input; Foreman asks for "promptString" and "pickString" inputs only: set FOREMAN_MCP_INPUT_REGION/,
      );
      assert.equal(editor.asked.length, 0);
    },
  );
  await withRoot(
    `{ "servers": { "s": { "command": "srv", "args": ["\${input:region}"] } },
       "inputs": [{ "type": "pickString", "id": "region" }] }`,
    async (root) => {
      const editor = fakeInputs('eu');
      await assert.rejects(
        readMcpServers(sources(root, { inputs: editor.port })),
        /a "pickString" input with no "options": list the values to pick from, or set FOREMAN_MCP_INPUT_REGION/,
      );
      assert.equal(editor.asked.length, 0);
    },
  );
});

test("a workspace's server cannot read Foreman's environment; the user's own can", () =>
  withRoot(null, async (root) => {
    const entry = { command: 'srv', env: { TOKEN: '${env:SECRET}' } };
    await assert.rejects(
      readMcpServers(sources(root, { workspace: { s: entry }, env: { SECRET: 'x' } })),
      /a workspace's configuration cannot pass Foreman's environment/,
    );
    const mine = await readMcpServers(
      sources(root, { user: { s: { ...entry, timeoutMs: 5000 } }, env: { SECRET: 'x' } }),
    );
    assert.equal(mine.servers[0].timeoutMs, 5000);
    const t = mine.servers[0].transport;
    assert.deepEqual(t.type === 'stdio' && t.env, { TOKEN: 'x' });
  }));

test('an untrusted workspace starts none of its own servers, only the user’s', () =>
  withRoot(MCP_JSON, async (root) => {
    const list = await readMcpServers(
      sources(root, { trusted: false, workspace: { w: { command: 'w' } }, user: { u: { command: 'u' } } }),
    );
    assert.deepEqual(
      list.servers.map((s) => s.name),
      ['u'],
    );
    assert.equal(list.notices.length, 3);
    assert.match(list.notices[0], /is not started: this workspace is not trusted/);
  }));

test('permissions: the user loosens, the workspace only tightens; a name defined twice is refused', () =>
  withRoot(null, async (root) => {
    const list = await readMcpServers(
      sources(root, {
        user: { s: { command: 'srv', tools: { '*': 'allow', risky: 'allow' } } },
        workspace: { s: { tools: { risky: 'deny', safe: 'allow', other: 'ask' } } },
      }),
    );
    assert.deepEqual(list.servers[0].tools, { '*': 'allow', risky: 'deny', safe: 'allow', other: 'ask' });
    await assert.rejects(
      readMcpServers(sources(root, { user: { s: { command: 'a' } }, workspace: { s: { command: 'b' } } })),
      /defined in both foreman.json and user settings/,
    );
    await assert.rejects(
      readMcpServers(sources(root, { workspace: { s: { command: 'a', cwd: '${home}' } } })),
      /a variable Foreman does not know/,
    );
  }));
