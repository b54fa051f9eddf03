/**
 * Driving the Lead panel (the webview view `foreman.lead`) the way a developer does: through its
 * accessible names and the data attributes the panel exposes for tests (data-phase, data-task-id
 * with data-status, data-run-status, data-plan-task, data-blocked, role="alert" notices).
 *
 *   const lead = await openLead(vscode);              // "Foreman: New Spec" focuses the view
 *   await addBackend(lead, { name: 'scripted', baseUrl: server.url, model: 'scripted-demo' });
 *   await lead.getByLabel('Spec').fill(spec);
 *   await lead.getByRole('button', { name: 'Plan', exact: true }).click();
 *   await waitForPhase(lead, 'plan');
 *
 * `stages(page, prefix)` names each step of a scenario and saves a screenshot after it (and one
 * when it fails) to test-results/e2e/<prefix>-<n>-<step>.png.
 */
import type { FrameLocator, Locator, Page } from 'playwright-core';
import { runCommand, screenshot, waitFor, webviewFrame } from './harness';
import type { VSCodeSession } from './harness';
import { errorMessage } from '../../src/core/errors';

/** How long a scripted run may take on a small machine, per wait. */
export const RUN_TIMEOUT_MS = 90_000;

/**
 * Opens (focuses) the Lead panel with "Foreman: New Spec" and returns its content frame. Waits
 * first for the extension host to have started: until then the palette lacks Foreman's commands.
 */
export async function openLead(vscode: VSCodeSession): Promise<FrameLocator> {
  const page = vscode.page;
  await waitFor(
    () => vscode.extensionHostLog().includes('Eager extensions activated'),
    'the extension host to start',
    60_000,
  );
  await runCommand(page, 'Foreman: New Spec');
  const lead = await webviewFrame(page, 'foreman.lead', { timeoutMs: 60_000 });
  // The Changes view shares the side bar: collapsed, it leaves the Lead panel (and the
  // screenshots) the whole height.
  const changes = page.locator('.pane-header[aria-expanded="true"]', { hasText: /^Changes/i });
  if (await changes.count()) await changes.first().click();
  await widenSideBar(page, 520);
  await lead.locator('[data-phase]').first().waitFor({ timeout: 30_000 });
  return lead;
}

/** Drags the side bar's edge so it is `width` pixels wide (readable screenshots); best effort. */
async function widenSideBar(page: Page, width: number): Promise<void> {
  const box = await page.locator('.part.sidebar').boundingBox();
  if (!box || box.width >= width) return;
  await dragSideBar(page, width);
}

/** Drags the side bar's edge to make it `width` pixels wide, narrower or wider; returns its box then. */
async function dragSideBar(
  page: Page,
  width: number,
): Promise<{ x: number; y: number; width: number; height: number }> {
  const sidebar = page.locator('.part.sidebar');
  const box = await sidebar.boundingBox();
  if (!box) throw new Error('no side bar to resize');
  const edge = { x: box.x + box.width - 1, y: box.y + box.height / 2 };
  await page.mouse.move(edge.x, edge.y);
  await page.mouse.down();
  await page.mouse.move(box.x + width, edge.y, { steps: 5 });
  await page.mouse.up();
  await page.mouse.move(box.x + width + 300, box.y + box.height - 10); // off the sash, so it is not drawn highlighted
  const after = await sidebar.boundingBox();
  if (!after) throw new Error('the side bar went away');
  return after;
}

/** The side bar's usual width, and a wide Lead panel (the window is widened to hold it). */
export const PANEL_WIDTHS = { sidebar: 340, wide: 1200 } as const;

/**
 * Looks at the panel at the side bar's usual width (340 px) and wide (1200 px, in a window made
 * 1600 px wide for it): a screenshot of each, `<label>-sidebar.png` and `<label>-wide.png` in
 * test-results/e2e, and each of `buttons` (accessible names) must lie within the side bar and the
 * window without scrolling the panel. Leaves the side bar at 520 px in the 1280 px window again.
 */
export async function atPanelWidths(
  vscode: VSCodeSession,
  lead: FrameLocator,
  label: string,
  buttons: readonly string[],
): Promise<void> {
  const page = vscode.page;
  const original = page.viewportSize() ?? { width: 1280, height: 800 };
  const panel = lead.locator('[data-phase]').first();
  try {
    for (const [name, width] of Object.entries(PANEL_WIDTHS)) {
      if (width + 400 > original.width) await page.setViewportSize({ width: width + 400, height: original.height });
      const bar = await dragSideBar(page, width);
      if (Math.abs(bar.width - width) > 24) throw new Error(`the side bar is ${bar.width} px wide, not about ${width}`);
      await page.waitForTimeout(400); // the webview lays itself out again
      await panel.evaluate(() => window.scrollTo(0, 0));
      await screenshot(page, `${label}-${name}`);
      await inView(lead, bar, buttons, `at ${width} px`);
      await panel.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
      await page.waitForTimeout(200);
      await inView(lead, bar, buttons, `at ${width} px, scrolled to the end`);
      await panel.evaluate(() => window.scrollTo(0, 0));
    }
  } finally {
    await page.setViewportSize(original);
    await dragSideBar(page, 520).catch(() => undefined);
  }
}

/** Fails unless each of `buttons` lies within `area` (page coordinates). */
async function inView(
  lead: FrameLocator,
  area: { x: number; y: number; width: number; height: number },
  buttons: readonly string[],
  when: string,
): Promise<void> {
  for (const text of buttons) {
    const box = await button(lead, text).first().boundingBox();
    if (!box) throw new Error(`"${text}" is not shown ${when}`);
    const inside =
      box.x >= area.x &&
      box.x + box.width <= area.x + area.width &&
      box.y >= area.y &&
      box.y + box.height <= area.y + area.height;
    if (!inside)
      throw new Error(`"${text}" is not in view ${when}: ${JSON.stringify(box)} outside ${JSON.stringify(area)}`);
  }
}

/** A button of the panel (or of `within`) by its accessible name, matched exactly. */
export function button(scope: FrameLocator | Locator, name: string): Locator {
  return scope.getByRole('button', { name, exact: true });
}

/** Presses "Try the demo backend" and waits until the panel has chosen it. */
export async function tryDemoBackend(lead: FrameLocator): Promise<void> {
  await button(lead, 'Try the demo backend').click();
  const chosen = lead.getByLabel('Backend', { exact: true }).locator('option:checked');
  await waitFor(
    async () => /demo/i.test(await chosen.innerText().catch(() => '')),
    'the demo backend to be chosen',
    15_000,
  );
}

/** Waits until the panel shows `phase` (compose, planning, plan or run). */
export async function waitForPhase(lead: FrameLocator, phase: string, timeoutMs = 30_000): Promise<void> {
  await lead.locator(`[data-phase="${phase}"]`).first().waitFor({ timeout: timeoutMs });
}

/** What the add-backend form takes. */
export interface BackendFields {
  name: string;
  baseUrl: string;
  model: string;
}

/**
 * Fills the panel's "Add backend" form and submits it. The form is either on show (no backend
 * yet) or opened by the "Add backend" button; its own submit button has the same name.
 */
export async function addBackend(lead: FrameLocator, fields: BackendFields): Promise<void> {
  const name = lead.getByLabel('Backend name', { exact: true });
  if (!(await name.isVisible())) await button(lead, 'Add backend').first().click();
  await name.fill(fields.name);
  await lead.getByLabel('Base URL', { exact: true }).fill(fields.baseUrl);
  await lead.getByLabel('Model name', { exact: true }).fill(fields.model);
  const form = lead.locator('form').filter({ has: name });
  const submit = (await form.count()) > 0 ? button(form, 'Add backend') : button(lead, 'Add backend').last();
  await submit.click();
  await waitFor(
    async () => (await selectedBackend(lead)) === fields.name,
    `the backend "${fields.name}" to be selected`,
    15_000,
  );
}

/** The backend the panel's "Backend" choice shows now ('' when none). */
async function selectedBackend(lead: FrameLocator): Promise<string> {
  const select = lead.getByLabel('Backend', { exact: true });
  if ((await select.count()) === 0) return '';
  return select
    .first()
    .inputValue({ timeout: 1_000 })
    .catch(() => '');
}

/** The board row of a task. */
export function taskRow(lead: FrameLocator, taskId: string): Locator {
  return lead.locator(`[data-task-id="${taskId}"]`);
}

/** Statuses a task stays in until the developer acts: waiting on past them is pointless. */
const SETTLED = ['merged', 'failed', 'blocked', 'stopped', 'rejected'];

/**
 * Waits until the task's row has one of `statuses`; returns the status it reached. Fails at once
 * when the task settles in another status (merged, failed, blocked, stopped, rejected).
 */
export async function waitForTask(
  lead: FrameLocator,
  taskId: string,
  statuses: string[],
  timeoutMs = RUN_TIMEOUT_MS,
): Promise<string> {
  const row = taskRow(lead, taskId);
  let settled = '';
  return waitFor(
    async () => {
      const status =
        (await row
          .first()
          .getAttribute('data-status', { timeout: 1_000 })
          .catch(() => null)) ?? '';
      if (SETTLED.includes(status) && !statuses.includes(status)) settled = status;
      return statuses.includes(status) || settled ? status : '';
    },
    `task ${taskId} to be ${statuses.join(' or ')}`,
    timeoutMs,
  )
    .then((status) => {
      if (settled) throw new Error(`task ${taskId} settled as ${settled} instead of ${statuses.join(' or ')}`);
      return status;
    })
    .catch(async (e: Error) => {
      const text = (
        await row
          .first()
          .innerText({ timeout: 1_000 })
          .catch(() => '')
      ).replace(/\s+/g, ' ');
      throw new Error(
        `${e.message}; the row says "${text}"; the board now: ${JSON.stringify(await boardStatuses(lead))}`,
      );
    });
}

/** Waits until the run header says `status`. */
export async function waitForRun(lead: FrameLocator, statuses: string[], timeoutMs = RUN_TIMEOUT_MS): Promise<string> {
  const header = lead.locator('[data-run-status]').first();
  return waitFor(
    async () => {
      const status = (await header.getAttribute('data-run-status', { timeout: 1_000 }).catch(() => null)) ?? '';
      return statuses.includes(status) ? status : '';
    },
    `the run to be ${statuses.join(' or ')}`,
    timeoutMs,
  ).catch(async (e: Error) => {
    const now = await header.getAttribute('data-run-status', { timeout: 1_000 }).catch(() => null);
    const text = (await header.innerText({ timeout: 1_000 }).catch(() => '')).replace(/\s+/g, ' ');
    throw new Error(`${e.message}; it is ${now} ("${text}"); the board: ${JSON.stringify(await boardStatuses(lead))}`);
  });
}

/** Every task on the board with its status. */
export async function boardStatuses(lead: FrameLocator): Promise<Record<string, string>> {
  const rows = lead.locator('[data-task-id]');
  const out: Record<string, string> = {};
  for (let i = 0; i < (await rows.count().catch(() => 0)); i++) {
    const id = await rows
      .nth(i)
      .getAttribute('data-task-id', { timeout: 1_000 })
      .catch(() => null);
    if (id)
      out[id] =
        (await rows
          .nth(i)
          .getAttribute('data-status', { timeout: 1_000 })
          .catch(() => null)) ?? '?';
  }
  return out;
}

/** The texts of the panel's error notices (role="alert"). */
export async function alerts(lead: FrameLocator): Promise<string[]> {
  return lead.getByRole('alert').allInnerTexts();
}

/** Clicks `name` in VS Code's modal dialog (e.g. the Apply confirmation); returns the dialog's text. */
export async function answerModal(page: Page, name: string): Promise<string> {
  const dialog = page.locator('.monaco-dialog-box');
  await dialog.waitFor({ timeout: 15_000 });
  const text = await dialog.innerText();
  await dialog.getByRole('button', { name, exact: true }).click();
  await dialog.waitFor({ state: 'hidden', timeout: 15_000 });
  return text;
}

/** The labels of the editor tabs that are open. */
export async function editorTabs(page: Page): Promise<string[]> {
  return (await page.locator('.tabs-container .tab').allInnerTexts()).map((t) => t.replace(/\s+/g, ' ').trim());
}

/**
 * Runs named steps of a scenario, saving a screenshot after each (test-results/e2e/
 * <prefix>-<n>-<step>.png) and one marked FAILED when a step throws, whose error then names it.
 */
export function stages(page: Page, prefix: string): (name: string, step: () => Promise<void>) => Promise<void> {
  let n = 0;
  return async (name, step) => {
    const label = `${prefix}-${String(++n).padStart(2, '0')}-${name}`;
    try {
      await step();
    } catch (e) {
      const shot = await screenshot(page, `${label}-FAILED`).catch(() => 'no screenshot');
      const message = errorMessage(e);
      throw new Error(`stage "${name}" failed (${shot}): ${message}`, { cause: e });
    }
    await screenshot(page, label);
  };
}
