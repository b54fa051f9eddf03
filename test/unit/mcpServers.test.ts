/**
 * Reading the developer's MCP servers (src/app/mcpServers.ts) from `.vscode/mcp.json` in VS Code's
 * format (comments and trailing commas included) and `foreman.mcpServers`: variables resolved or
 * refused in words, workspace servers left out of an untrusted workspace, and permissions that a
 * workspace can only tighten.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inputVariable, readMcpServers, stripJsonc } from '../../src/app/mcpServers';
import type { McpSources } from '../../src/app/mcpServers';
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
