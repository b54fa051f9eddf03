/**
 * The allow-list of an allow-listed sandbox (src/core/hostPatterns.ts) and how a workspace narrows
 * the user's network (`narrowNetwork`, src/core/sandbox.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matchHost, narrowHostPatterns, parseHostPattern, parseHostPatterns } from '../../src/core/hostPatterns';
import type { HostPattern } from '../../src/core/hostPatterns';
import { effectiveNetwork, narrowNetwork } from '../../src/core/sandbox';

function patterns(...raw: string[]): HostPattern[] {
  const { patterns: parsed, problems } = parseHostPatterns(raw);
  assert.deepEqual(problems, []);
  return parsed;
}

const texts = (list: readonly HostPattern[]): string[] => list.map((p) => p.text);

test('patterns: names, a leading *., addresses and ports are read and normalised', () => {
  assert.deepEqual(parseHostPattern(' Registry.NPMJS.org. '), {
    text: 'registry.npmjs.org',
    host: 'registry.npmjs.org',
    wildcard: false,
    port: null,
  });
  assert.deepEqual(parseHostPattern('*.pythonhosted.org'), {
    text: '*.pythonhosted.org',
    host: 'pythonhosted.org',
    wildcard: true,
    port: null,
  });
  assert.deepEqual(parseHostPattern('git.example.com:8443'), {
    text: 'git.example.com:8443',
    host: 'git.example.com',
    wildcard: false,
    port: 8443,
  });
  assert.equal((parseHostPattern('127.0.0.1:9000') as HostPattern).host, '127.0.0.1');
  assert.deepEqual(parseHostPattern('[::1]:8080'), { text: '[::1]:8080', host: '::1', wildcard: false, port: 8080 });
  assert.deepEqual(texts(patterns('pypi.org', 'PYPI.org', 'localhost')), ['pypi.org', 'localhost']);
});

test('patterns: what cannot be used is refused with a sentence, never widened', () => {
  const refused: [string, RegExp][] = [
    ['', /empty host/],
    ['https://registry.npmjs.org/', /URL or a path; give the host name only/],
    ['registry.npmjs.org/path', /URL or a path/],
    ['*', /not a host name/],
    ['*.com', /every name under a top-level domain/],
    ['a.*.example.org', /not a host name/],
    ['*example.org', /not a host name/],
    ['*.10.0.0.1', /"\*\." goes before names, not addresses/],
    ['example.org:0', /port that is not a number from 1 to 65535/],
    ['example.org:65536', /port/],
    ['example.org:http', /port/],
    ['exa mple.org', /not a host name/],
    ['[zz::1]', /not a host name/],
  ];
  for (const [raw, why] of refused) {
    const r = parseHostPattern(raw);
    assert.equal(typeof r, 'string', `${JSON.stringify(raw)} must be refused`);
    assert.match(r as string, why, raw);
  }
  const mixed = parseHostPatterns(['pypi.org', '*', 'github.com']);
  assert.deepEqual(texts(mixed.patterns), ['pypi.org', 'github.com']);
  assert.equal(mixed.problems.length, 1);
});

test('matching: exact names, wildcards below a name but not the name itself, ports 80 and 443 unless named', () => {
  const list = patterns('registry.npmjs.org', '*.pythonhosted.org', 'git.example.com:8443', '[::1]:9000');
  const m = (host: string, port: number): string | null => matchHost(list, host, port)?.text ?? null;
  assert.equal(m('registry.npmjs.org', 443), 'registry.npmjs.org');
  assert.equal(m('REGISTRY.npmjs.org.', 80), 'registry.npmjs.org');
  assert.equal(m('registry.npmjs.org', 22), null, 'a pattern without a port allows 80 and 443 only');
  assert.equal(m('evil-registry.npmjs.org', 443), null);
  assert.equal(m('registry.npmjs.org.evil.com', 443), null);
  assert.equal(m('files.pythonhosted.org', 443), '*.pythonhosted.org');
  assert.equal(m('a.b.pythonhosted.org', 443), '*.pythonhosted.org');
  assert.equal(m('pythonhosted.org', 443), null, '*.x does not match x itself');
  assert.equal(m('evilpythonhosted.org', 443), null);
  assert.equal(m('git.example.com', 8443), 'git.example.com:8443');
  assert.equal(m('git.example.com', 443), null, 'a pattern with a port allows that port only');
  assert.equal(m('[::1]', 9000), '[::1]:9000');
  assert.equal(m('::1', 9000), '[::1]:9000');
  const both = patterns('*.example.org', 'api.example.org');
  assert.equal(matchHost(both, 'api.example.org', 443)?.wildcard, false, 'an exact pattern wins over a wildcard');
});

test("narrowing: a workspace's list keeps only what the user's allows too", () => {
  const user = patterns('*.npmjs.org', 'pypi.org', 'github.com');
  const { patterns: kept, ignored } = narrowHostPatterns(
    user,
    patterns('registry.npmjs.org', 'pypi.org', 'evil.example', '*.github.com'),
  );
  assert.deepEqual(texts(kept), ['pypi.org', 'registry.npmjs.org']);
  assert.deepEqual(texts(ignored), ['evil.example', '*.github.com']);
  assert.deepEqual(texts(narrowHostPatterns(patterns('registry.npmjs.org'), patterns('*.npmjs.org')).patterns), [
    'registry.npmjs.org',
  ]);
  assert.deepEqual(texts(narrowHostPatterns(patterns('a.example:8080'), patterns('a.example')).patterns), []);
});

test('the network: a workspace tightens it, never widens it; an empty allow-list is no network', () => {
  const npm = patterns('registry.npmjs.org');
  assert.deepEqual(narrowNetwork({ network: 'none', allowedHosts: [] }, [{ network: 'host' }]), {
    network: 'none',
    allowedHosts: [],
    widerNetwork: 'host',
    ignoredHosts: [],
  });
  const tightened = narrowNetwork({ network: 'host', allowedHosts: [] }, [{ network: 'allowList', allowedHosts: npm }]);
  assert.equal(tightened.network, 'allowList');
  assert.deepEqual(texts(tightened.allowedHosts), ['registry.npmjs.org'], 'the whole network narrows to the list');
  const listed = narrowNetwork({ network: 'allowList', allowedHosts: npm }, [
    { allowedHosts: patterns('registry.npmjs.org', 'evil.example') },
    { network: 'none' },
  ]);
  assert.equal(listed.network, 'none');
  assert.deepEqual(listed.allowedHosts, []);
  const two = narrowNetwork({ network: 'allowList', allowedHosts: patterns('*.example.org') }, [
    { allowedHosts: patterns('a.example.org', 'b.example.org') },
    { allowedHosts: patterns('b.example.org', 'c.example.org') },
  ]);
  assert.deepEqual(texts(two.allowedHosts), ['b.example.org'], 'each level narrows what the last left');
  assert.deepEqual(texts(two.ignoredHosts), ['c.example.org']);
  assert.equal(effectiveNetwork({ network: 'allowList', allowedHosts: [] }), 'none');
  assert.equal(effectiveNetwork({ network: 'allowList', allowedHosts: ['pypi.org'] }), 'allowList');
  assert.equal(effectiveNetwork({ network: 'host', allowedHosts: [] }), 'host');
});
