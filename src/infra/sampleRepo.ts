/**
 * Foreman's sample repository, samples/demo-shop: the one repository the demo backend knows (its
 * plan and every agent answer are written out for it in src/scripted/demoScenario.ts). Recognising
 * it, and making a fresh copy of it as a git repository for someone who wants to watch the demo.
 *
 * The sample is recognised by a field of its package.json, `"foremanSample": "demo-shop"`, rather
 * than by its folder or package name: a copy keeps it wherever it is made (npm start, npm run demo,
 * the panel's "Open the sample"), and no other repository has it by chance.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitOk } from './gitExec';

/** The package.json field that marks the sample, and its value. */
export const SAMPLE_MARKER = { field: 'foremanSample', value: 'demo-shop' } as const;

/** Where the sample lives in Foreman's checkout. */
export const SAMPLE_FOLDER = 'samples/demo-shop';

/**
 * The model name the demo backend goes by (the Lead panel's demo, and `npm run demo`'s
 * FOREMAN_MODEL): a backend with this model is taken to be the demo, which only knows the sample.
 */
export const DEMO_MODEL = 'scripted-demo';

/** Whether the repository at `root` is (a copy of) Foreman's sample repository. */
export function isSampleRepository(root: string): boolean {
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  } catch {
    // No package.json, or not JSON: not the sample.
    return false;
  }
  return (
    typeof manifest === 'object' &&
    manifest !== null &&
    (manifest as Record<string, unknown>)[SAMPLE_MARKER.field] === SAMPLE_MARKER.value
  );
}

/**
 * A fresh copy of the sample at `source` (samples/demo-shop) in a new temporary folder
 * (`<tmp>/foreman-sample-…/demo-shop`), made a git repository on `main` with one commit, as
 * `npm start` makes it. Returns the repository's path. When any step fails the folder is removed
 * and the error passed on: nothing is left behind.
 */
export async function copySample(source: string, parent = tmpdir()): Promise<string> {
  if (!isSampleRepository(source)) throw new Error(`${source} is not Foreman's sample repository`);
  const work = mkdtempSync(join(parent, 'foreman-sample-'));
  const repo = join(work, 'demo-shop');
  try {
    cpSync(source, repo, { recursive: true });
    const identity = [
      '-c',
      'user.name=Demo Developer',
      '-c',
      'user.email=dev@example.com',
      '-c',
      'commit.gpgsign=false',
    ];
    await gitOk(repo, ['init', '-q', '-b', 'main']);
    await gitOk(repo, ['add', '-A']);
    await gitOk(repo, [...identity, 'commit', '-q', '-m', 'The shop before Foreman']);
    return repo;
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    throw e;
  }
}
