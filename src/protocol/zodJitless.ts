/**
 * Turns off zod's compiled parsers for the bundle that imports this first. Where eval is allowed,
 * zod builds fast object parsers with `new Function` and probes for that ability as soon as the
 * first object schema is built. The webview's Content-Security-Policy forbids eval, and Chromium
 * reports even the caught probe as a CSP violation, so the webview imports this module before
 * src/protocol/panel.ts builds its schemas (zod's documented `jitless` switch; parsing is the
 * same, only not compiled). The extension host must not import it: there zod's configuration
 * lives on `globalThis`, shared with every other extension's copy of zod.
 */
import { z } from 'zod';

z.config({ jitless: true });
