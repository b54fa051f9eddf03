// Types of scripts/webview-preview.mjs, for the TypeScript tests that drive it.
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { PanelState, RequestError } from '../src/protocol/panel.js';

/** A page of the preview, with the console and page errors it reported. */
export type PanelPage = Page & { problems: string[] };

export const PROJECT_ROOT: string;
export const FIXTURE_DIR: string;
export const RESULTS_DIR: string;
export const CHROMIUM: string;
export const THEMES: Record<string, { bodyClass: string; vars: Record<string, string> }>;
export function buildWebviewBundle(): Promise<string>;
export function startPreviewServer(): Promise<{ url: string; close(): Promise<void> }>;
export function launchChromium(): Promise<Browser>;
export function loadFixture(name: string): PanelState;
export function fixtureNames(): string[];
export function openPanel(
  browser: Browser,
  serverUrl: string,
  o?: { theme?: string; width?: number; height?: number; context?: BrowserContext },
): Promise<PanelPage>;
export function sendToPanel(page: Page, message: unknown): Promise<number>;
export function showState(page: Page, state: unknown): Promise<number>;
export function posted(page: Page): Promise<{ id: number; request: { type: string; [k: string]: unknown } }[]>;
export function answer(page: Page, id: number, ok?: boolean, error?: RequestError | null): Promise<number>;
export function cspViolations(page: Page): Promise<string[]>;
export function boardUpdate(state: PanelState, k: number): PanelState;
