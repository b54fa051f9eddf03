/**
 * Runtime pieces the extension needs only once the panel or a command is used. Zod, the panel
 * protocol's schemas, the settings schemas and git are most of the code that would otherwise load
 * at activation; they live in the Lead bundle (dist/lead.js, see esbuild.js), which is
 * loaded on first use. esbuild rewrites the `require` of src/app/leadBundle to that bundle.
 * Every other import of these modules in the eager part of the extension must stay `import type`.
 */
import type * as LeadBundle from '../app/leadBundle';

/** The Lead bundle: the session, the protocol's validators, the settings reader, git reads. */
export type LeadModule = typeof LeadBundle;

let leadModule_: LeadModule | undefined;

/**
 * src/app/leadBundle.ts (dist/lead.js), loaded on the first call. `require` rather than `import()`:
 * with module Node16 TypeScript wants `import()` to name a `.js` file, which the bundle rewrite
 * does not match.
 */
export function leadModule(): LeadModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use, see above
  leadModule_ ??= require('../app/leadBundle') as LeadModule;
  return leadModule_;
}
