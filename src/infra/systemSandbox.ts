/**
 * The sandbox of the machine Foreman runs on: bubblewrap on Linux; elsewhere none yet, said
 * plainly, so that agent commands are refused there unless the user turns the sandbox off.
 */
import type { Sandbox } from '../core/sandbox';
import { createBubblewrapSandbox } from './bubblewrap';
import type { BubblewrapOptions } from './bubblewrap';

/** Why there is no sandbox on a platform Foreman has none for. */
function unsupportedReason(platform: NodeJS.Platform): string {
  if (platform === 'darwin')
    return "Foreman has no macOS sandbox yet (one built on macOS's sandbox-exec is not implemented)";
  return `Foreman has no sandbox for ${platform} (it uses bubblewrap, on Linux)`;
}

/** A sandbox that is never available, with the reason. */
export function unavailableSandbox(name: string, reason: string): Sandbox {
  return {
    probe: () => Promise.resolve({ available: false, name, reason }),
    launch: () => {
      throw new Error(`the ${name} sandbox cannot launch anything: ${reason}`);
    },
  };
}

/** The sandbox for `platform` (default: this one). */
export function createSystemSandbox(options: BubblewrapOptions = {}, platform = process.platform): Sandbox {
  if (platform === 'linux') return createBubblewrapSandbox(options);
  return unavailableSandbox('none', unsupportedReason(platform));
}
