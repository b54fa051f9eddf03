/**
 * Runtime pieces the extension needs only once the panel or a command is used. Zod, the panel
 * protocol's schemas and the settings schemas are most of the code that would otherwise load at
 * activation; they live in the Lead session's bundle (dist/lead.js, see esbuild.js), which is
 * loaded on first use. esbuild rewrites the `require` of src/app/leadSession to that bundle.
 * Every other import of these modules in the eager part of the extension must stay `import type`.
 */

/** The Lead session's bundle: the session itself, the protocol's validators, the settings reader. */
export type LeadModule = typeof import('../app/leadSession');

let leadModule_: LeadModule | undefined;

/**
 * src/app/leadSession.ts (dist/lead.js), loaded on the first call. `require` rather than `import()`:
 * with module Node16 TypeScript wants `import()` to name a `.js` file, which the bundle rewrite
 * does not match.
 */
export function leadModule(): LeadModule {
  leadModule_ ??= require('../app/leadSession') as LeadModule;
  return leadModule_;
}
