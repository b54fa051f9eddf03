/**
 * The Lead panel's entry point (bundled to dist/webview.js). The page the host serves has one
 * `<div id="app">` and a CSP that allows only this script (by nonce) and the extension's styles.
 */
// First, before any schema is built: no eval under the webview's CSP.
import '../protocol/zodJitless';
import { PanelController } from './controller';
import type { VsCodeApi } from './controller';

declare function acquireVsCodeApi(): VsCodeApi;

const root = document.getElementById('app');
if (root) new PanelController(acquireVsCodeApi(), root).start();
