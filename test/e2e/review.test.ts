/**
 * Reviewing a finished run in the editor, the way a developer does it from the Lead panel: the
 * packaged extension in a real VS Code on a copy of samples/demo-shop, the demo backend, one
 * completed run, then
 *   - "Transcript" on the discounts row opens a tab named after the task whose rendered Markdown
 *     shows the agent's tool calls (write_file of src/discounts.js);
 *   - "Output" on the checkout row opens a tab with the check's name, its command (npm test) and
 *     what it printed;
 *   - in the Changes view, a task's file opens a diff tab with the file's new content.
 * Screenshots: test-results/e2e/review-<n>-<step>.png (completed, transcript, output, diff), and the
 * finished board at the side bar's usual width and wide: review-completed-{sidebar,wide}.png.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import { waitFor, waitForText } from './harness';
import {
  atPanelWidths,
  button,
  editorTabs,
  openLead,
  stages,
  taskRow,
  tryDemoBackend,
  waitForPhase,
  waitForRun,
} from './lead';
import { DEMO_SPEC, useSampleSession } from './sample';

const session = useSampleSession();

/** The active editor tab's label. */
async function activeTab(page: Page): Promise<string> {
  const tab = page.locator('.tabs-container .tab.active').first();
  return (await tab.innerText({ timeout: 1_000 }).catch(() => '')).replace(/\s+/g, ' ').trim();
}

/** Waits until the active tab's label matches `pattern`; returns the label. */
async function waitForActiveTab(page: Page, pattern: RegExp): Promise<string> {
  let label = '';
  return waitFor(
    async () => ((label = await activeTab(page)), pattern.test(label) ? label : ''),
    `an active tab matching ${pattern}`,
    15_000,
  ).catch(async (e: Error) => {
    throw new Error(`${e.message}; the active tab is "${label}", the tabs: ${JSON.stringify(await editorTabs(page))}`);
  });
}

/**
 * The document of the Markdown preview, two iframes deep like every webview: the workbench's
 * `iframe.webview` of the Markdown extension's editor webview, then its `iframe#active-frame`.
 * Only a visible one counts (a hidden preview keeps its iframe). On a small machine the preview
 * takes about two seconds to appear after the click.
 */
async function markdownPreview(page: Page): Promise<FrameLocator> {
  // An editor's webview carries no `purpose` in its address (a view's says webviewView).
  const outer = page.locator(
    'iframe.webview[src*="extensionId=vscode.markdown-language-features"]:not([src*="purpose="])',
  );
  return waitFor(
    async () => {
      for (let i = 0; i < (await outer.count()); i++) {
        if (await outer.nth(i).isVisible())
          return outer.nth(i).contentFrame().locator('iframe#active-frame').contentFrame();
      }
      return null;
    },
    'the Markdown preview',
    15_000,
  ).catch(async (e: Error) => {
    const srcs = await page
      .locator('iframe')
      .evaluateAll((els) => els.map((el) => el.getAttribute('src') ?? '(no src)'));
    throw new Error(`${e.message}; the page's iframes:\n${srcs.join('\n')}`);
  });
}

/** The text editor of the active editor group (Monaco's lines; in a diff, the modified side). */
function activeEditorText(page: Page): Locator {
  return page.locator('.editor-group-container.active .editor-instance .monaco-editor .view-lines').last();
}

test(
  'Transcript, Output and the Changes view open readable tabs for a finished run',
  { timeout: 180_000 },
  async () => {
    const page = session.vscode.page;
    const stage = stages(page, 'review');
    const lead = await openLead(session.vscode);
    await stage('completed', async () => {
      await tryDemoBackend(lead);
      await lead.getByLabel('Spec', { exact: true }).fill(DEMO_SPEC);
      await button(lead, 'Plan').click();
      await waitForPhase(lead, 'plan', 60_000);
      await button(lead, 'Run').click();
      await waitForRun(lead, ['completed']);
    });
    await atPanelWidths(session.vscode, lead, 'review-completed', ['Apply as one commit', 'Apply as merge']);

    await stage('transcript', async () => {
      await button(taskRow(lead, 'discounts'), 'Transcript').click();
      await waitForActiveTab(page, /discounts/);
      const preview = await markdownPreview(page);
      const rendered = await waitForText(preview.locator('body'), /write_file[\s\S]*src\/discounts\.js/, 15_000);
      assert.match(rendered, /^Transcript: Discount codes$/m, 'the heading names the task by its title');
      assert.match(rendered, /task discounts/, 'and by its id');
      assert.match(rendered, /^Tool call write_file$/m, 'tool calls are rendered as such');
      assert.equal(
        await preview.locator('h1').count(),
        1,
        'one top heading: the Markdown is rendered, not shown as source',
      );
      const call = preview.locator('code', { hasText: /^write_file$/ }).first();
      await call.scrollIntoViewIfNeeded(); // the first write_file in the screenshot
    });

    await stage('output', async () => {
      await button(taskRow(lead, 'checkout'), 'Output').click();
      await waitForActiveTab(page, /checkout\.log/);
      const output = await waitForText(activeEditorText(page), /\$ npm (run )?test[\s\S]*pass \d+/, 15_000);
      assert.match(output, /^Verification of task checkout/, 'the output names what was verified');
      assert.match(output, /━━ test: passed, exit 0/, 'and the check with its outcome');
    });

    await stage('diff', async () => {
      const header = page.locator('.pane-header', { hasText: /^Changes/i }).first();
      if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
      const tree = page.locator('.pane', { has: header }).locator('.monaco-list');
      const task = tree.locator('.monaco-list-row', { hasText: /^Discount codes/ }).first();
      await task.waitFor({ timeout: 15_000 });
      if ((await task.getAttribute('aria-expanded')) !== 'true') await task.click();
      const file = tree.locator('.monaco-list-row', { hasText: /^discounts\.js/ }).first();
      await file.click({ timeout: 15_000 });
      await waitForActiveTab(page, /^discounts\.js \(base ↔ discounts\)/);
      await page.locator('.editor-group-container.active .monaco-diff-editor').waitFor({ timeout: 15_000 });
      await waitForText(activeEditorText(page), /function applyDiscount\(totalCents, code\)/, 15_000);
    });
  },
);
