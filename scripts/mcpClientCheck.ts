/**
 * Foreman's MCP client against one Streamable HTTP server, for the conformance suite's client
 * scenarios: `npx conformance client --command "node --import tsx scripts/mcpClientCheck.ts"
 * --scenario initialize` (the suite appends the server's URL). It connects with Foreman's own
 * client code (src/infra/mcpClient.ts), lists the tools, calls each with arguments made from its
 * input schema, and prints what came back. Exit 0 when every step worked, 1 otherwise.
 */
import { connectMcp } from '../src/infra/mcpClient';
import type { McpServerConfig } from '../src/core/mcpTools';

/** An example value for a JSON schema property. */
function example(schema: Record<string, unknown>): unknown {
  switch (schema.type) {
    case 'number':
    case 'integer':
      return 2;
    case 'boolean':
      return true;
    case 'array':
      return [];
    case 'object':
      return {};
    default:
      return 'foreman';
  }
}

async function main(url: string | undefined): Promise<number> {
  if (!url) {
    process.stderr.write('usage: mcpClientCheck.ts <server URL>\n');
    return 2;
  }
  const config: McpServerConfig = {
    name: 'conformance',
    source: 'user',
    origin: 'the command line',
    transport: { type: 'http', url, headers: {} },
    written: { url },
    tools: { '*': 'allow' },
  };
  const connection = await connectMcp(config, null);
  if ('error' in connection) {
    process.stderr.write(`cannot connect: ${connection.error}\n`);
    return 1;
  }
  let failed = false;
  try {
    const tools = await connection.listTools();
    process.stdout.write(`${tools.length} tools: ${tools.map((t) => t.name).join(', ')}\n`);
    for (const tool of tools) {
      const props = (tool.inputSchema.properties ?? {}) as Record<string, Record<string, unknown>>;
      const args = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, example(v)]));
      const result = await connection.call(tool.name, args, {
        signal: new AbortController().signal,
        timeoutMs: 10_000,
      });
      if ('reason' in result) {
        failed = true;
        process.stdout.write(`${tool.name}: ${result.reason}: ${result.message}\n`);
      } else process.stdout.write(`${tool.name}: ${result.isError ? 'error: ' : ''}${result.text}\n`);
    }
  } finally {
    await connection.close();
  }
  return failed ? 1 : 0;
}

main(process.argv[2]).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
