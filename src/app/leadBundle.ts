/**
 * The entry of the Lead bundle, dist/lead.js: what the extension loads on first use instead of at
 * activation (see src/host/lazy.ts). It holds the Lead session with its engine, the openai client
 * and git; zod and the panel protocol's validators; the settings reader; and the git reads behind
 * the Changes view and its diffs. The extension's eager code may import these modules only as
 * `import type`; `test/unit/activationBundle.test.ts` checks what dist/extension.js holds.
 */
export { createLeadSession } from './leadSession';
export { readLeadSettings } from './leadSettings';
export { HostMessage, RequestEnvelope } from '../protocol/panel';
export { fileAtCommitText, listChangedFiles, readFileAtCommit, resolveCommit } from '../infra/gitShow';
