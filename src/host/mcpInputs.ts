/**
 * `${input:…}` of `.vscode/mcp.json` in VS Code (the McpInputPort of src/app/mcpInputs.ts): the
 * developer is asked as VS Code asks for its own MCP servers (an input box whose prompt is the
 * input's description, the text hidden where the input says `"password": true`; for a `pickString`,
 * a quick pick of its options with the default first, marked "(Default)"), and the answers
 * are kept in the extension's SecretStorage, never in settings, logs or the journal, so the next
 * run asks nothing. "Foreman: Forget MCP Inputs" drops every kept answer (a mistyped token is
 * asked for again at the next run).
 */
import * as vscode from 'vscode';
import type { McpInput, McpInputPort, McpPickInput } from '../app/mcpInputs';

/** The one secret that holds every kept answer, as JSON `{ "<mcp.json path>#<id>": "<value>" }`. */
export const MCP_INPUTS_SECRET = 'foreman.mcpInputs';

/** The command that forgets them. */
export const FORGET_MCP_INPUTS_COMMAND = 'foreman.mcp.forgetInputs';

/** Every kept answer; an unreadable secret counts as none (it is replaced at the next answer). */
async function readAll(secrets: vscode.SecretStorage): Promise<Record<string, string>> {
  const text = await secrets.get(MCP_INPUTS_SECRET);
  if (!text) return {};
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, string>) : {};
  } catch {
    return {}; // Not JSON: written by nothing of Foreman's; the next answer replaces it.
  }
}

/** The question for one input of one server: an input box, or a quick pick of a `pickString`'s options. */
function askInput(input: McpInput, server: string): Thenable<string | undefined> {
  const title = `Foreman: MCP server "${server}" needs \${input:${input.id}}`;
  const prompt = input.description || `The value of \${input:${input.id}} in .vscode/mcp.json`;
  if (input.type === 'pickString') return pickInput(input, title, prompt);
  return vscode.window.showInputBox({
    title,
    prompt,
    password: input.password,
    value: input.default,
    ignoreFocusOut: true,
  });
}

/** One pick of the options, as VS Code shows them: "label: value", the default first and marked. */
async function pickInput(input: McpPickInput, title: string, prompt: string): Promise<string | undefined> {
  const items = input.options.map((o) => ({
    label: o.label ? `${o.label}: ${o.value}` : o.value,
    value: o.value,
    ...(o.value === input.default ? { description: '(Default)' } : {}),
  }));
  const first = items.findIndex((i) => i.value === input.default);
  if (first > 0) items.unshift(...items.splice(first, 1));
  const picked = await vscode.window.showQuickPick(items, { title, placeHolder: prompt, ignoreFocusOut: true });
  return picked?.value;
}

/** The port the Lead session hands to the run's MCP servers. */
export function createMcpInputs(secrets: vscode.SecretStorage): McpInputPort {
  return {
    stored: async (key) => (await readAll(secrets))[key],
    store: async (key, value) => {
      await secrets.store(MCP_INPUTS_SECRET, JSON.stringify({ ...(await readAll(secrets)), [key]: value }));
    },
    ask: async (input, server) => askInput(input, server),
  };
}

/** Registers "Foreman: Forget MCP Inputs". */
export function registerForgetMcpInputs(secrets: vscode.SecretStorage): vscode.Disposable {
  return vscode.commands.registerCommand(FORGET_MCP_INPUTS_COMMAND, async () => {
    const count = Object.keys(await readAll(secrets)).length;
    await secrets.delete(MCP_INPUTS_SECRET);
    const what = count === 1 ? 'one answer' : `${count} answers`;
    void vscode.window.showInformationMessage(
      count === 0
        ? 'Foreman keeps no answers to MCP inputs.'
        : `Foreman forgot ${what} to MCP inputs; the next run asks again.`,
    );
  });
}
