/**
 * Runs the extension-host suite in code-server instead of a downloaded desktop VS Code: the e2e
 * tier's code-server (test/e2e/harness.ts starts it and a Chromium on it) loads Foreman from the
 * checkout and the suite through the web workbench's `payload` (extensionDevelopmentPath and
 * extensionTestsPath, as vscode-remote URIs), and runs it in its Node extension host, the same host
 * the desktop app has. The suite's console output reaches the page's console, which is read here
 * for the result line ("N/M passed").
 */
import { startVSCode } from '../e2e/harness';

/** What to run where. */
export interface CodeServerRun {
  /** The extension's folder (the checkout, built). */
  extension: string;
  /** The bundled suite (CommonJS, exporting run()). */
  suite: string;
  /** The folder VS Code opens. */
  workspace: string;
  /** How long the whole suite may take; default 10 minutes. */
  timeoutMs?: number;
}

/** The workbench's console prefix for forwarded extension-host output ("%c INFO color: #33f "). */
const CONSOLE_PREFIX = /^%c\s*\w+\s+color:\s*#\w+\s?/;
const RESULT = /^(\d+)\/(\d+) passed$/m;

/** Resolves with 0 when every test passed, 1 otherwise (including a suite that never reported). */
export async function runInCodeServer(run: CodeServerRun): Promise<number> {
  const vscode = await startVSCode({ workspace: run.workspace, vsix: null });
  try {
    const output: string[] = [];
    vscode.page.on('console', (message) => {
      const text = message.text().replace(CONSOLE_PREFIX, '');
      // The suite's lines: its results (indented), its summary, and the failure it throws.
      if (/^ {2,}\S|passed$|extension-host test/.test(text)) {
        output.push(text);
        console.log(text);
      }
    });
    const authority = new URL(vscode.url).host;
    const payload = [
      ['extensionDevelopmentPath', `vscode-remote://${authority}${run.extension}`],
      ['extensionTestsPath', `vscode-remote://${authority}${run.suite}`],
    ];
    await vscode.page.goto(`${vscode.url}&payload=${encodeURIComponent(JSON.stringify(payload))}`);
    const until = Date.now() + (run.timeoutMs ?? 600_000);
    let result: RegExpExecArray | null = null;
    while (result === null && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 500));
      result = RESULT.exec(output.join('\n'));
    }
    if (result === null) {
      console.error('The suite did not report a result; the extension host log ends with:');
      console.error(vscode.extensionHostLog().split('\n').slice(-20).join('\n'));
      return 1;
    }
    return result[1] === result[2] ? 0 : 1;
  } finally {
    await vscode.close();
  }
}
