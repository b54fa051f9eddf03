/**
 * A tokenizer estimate for servers that report no usage. It uses the cl100k_base encoding: not
 * the served model's own tokenizer, but close enough (usually within ~10-20%) for accounting.
 * The ranks (a few MB) are loaded on first use only, so a run against a server that reports usage
 * never pays for them.
 */

/** The part of js-tiktoken's encoder used here. */
interface Encoder {
  encode(text: string, allowedSpecial?: string[] | 'all', disallowedSpecial?: string[] | 'all'): number[];
}

/** The ranks file's shape, as js-tiktoken's constructor takes it. */
interface Ranks {
  pat_str: string;
  special_tokens: Record<string, number>;
  bpe_ranks: string;
}

let encoder: Encoder | null = null;

function getEncoder(): Encoder {
  if (encoder === null) {
    // Loaded lazily on purpose (see the module comment); require keeps the call synchronous.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy and synchronous, see above
    const lite = require('js-tiktoken/lite') as { Tiktoken: new (ranks: Ranks) => Encoder };
    // The CommonJS build exports the ranks object itself; an ESM interop may wrap it in `default`.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy and synchronous, see above
    const mod = require('js-tiktoken/ranks/cl100k_base') as Ranks & { default?: Ranks };
    encoder = new lite.Tiktoken(mod.default ?? mod);
  }
  return encoder;
}

/**
 * Estimate the number of tokens of `text` with the cl100k_base encoding. Special-token strings
 * (such as `<|endoftext|>`) are counted as ordinary text; never throws for any string input.
 */
export function estimateTokens(text: string): number {
  if (text.length === 0) return 0;
  return getEncoder().encode(text, [], []).length;
}
