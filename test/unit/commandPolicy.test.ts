import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkCommand, DEFAULT_POLICY } from '../../src/core/commandPolicy';
import type { CommandCategory } from '../../src/core/commandPolicy';

function refusedAs(command: string): CommandCategory | null {
  const r = checkCommand(command, DEFAULT_POLICY);
  return r.allowed ? null : r.category;
}

const ALLOWED = [
  'rm file.txt',
  'rm -f a.txt b.txt',
  'rmdir empty',
  'npm test',
  'npm run build && npm test',
  'npx tsc --noEmit -p .',
  'git status',
  'git diff HEAD~1 -- src',
  'git add -A && git commit -m "fix: parser"',
  'git log --oneline -5',
  'git checkout -b feature/x',
  'git checkout src/a.ts',
  'git restore --staged .',
  'git branch -d merged-branch',
  'git stash && git stash pop',
  'git clean -n -d',
  'git rebase --abort',
  'git tag v1.0',
  'echo "git push"',
  "echo 'rm -rf /' > notes.txt",
  'echo hi # rm -rf /',
  'grep -r "curl" src',
  'find . -name "*.ts" -print',
  'ls -la | wc -l',
  'cat <<EOF > script.sh\nrm -rf build\ncurl http://x\nEOF\nls',
  'python3 -c "print(1 + 1)"',
  'node -e "console.log(process.version)"',
  'yarn --version',
  'yarn test',
  'rsync -a src/ backup/',
  'make -j2 2>&1 | tail -20',
  'FOO=bar npm test',
  'timeout 60 npm test',
  'bash scripts/check.sh',
  'echo $((1 + 2))',
];

test('ordinary commands are allowed', () => {
  for (const c of ALLOWED) assert.equal(refusedAs(c), null, c);
});

const REFUSED: [string, CommandCategory][] = [
  ['rm -rf build', 'recursive_delete'],
  ['rm -r dir', 'recursive_delete'],
  ['rm -R dir', 'recursive_delete'],
  ['rm -fr dir', 'recursive_delete'],
  ['rm --recursive dir', 'recursive_delete'],
  ['/bin/rm -rf dir', 'recursive_delete'],
  ['\\rm -rf dir', 'recursive_delete'],
  ['cd src && rm -rf ../dist', 'recursive_delete'],
  ['ls; rm -rf x', 'recursive_delete'],
  ['false || rm -rf x', 'recursive_delete'],
  ['find . -name "*.o" -delete', 'recursive_delete'],
  ['find . -type d -exec rm -rf {} +', 'recursive_delete'],
  ['ls | xargs rm -rf', 'recursive_delete'],
  ['git clean -fdx', 'recursive_delete'],
  ['git clean -f', 'recursive_delete'],
  ['echo "$(rm -rf x)"', 'recursive_delete'],
  ['echo `rm -rf x`', 'recursive_delete'],
  ['diff <(rm -rf x) b', 'recursive_delete'],
  ['git reset --hard HEAD~1', 'git_history'],
  ['git rebase -i main', 'git_history'],
  ['git commit --amend --no-edit', 'git_history'],
  ['git filter-branch --tree-filter x', 'git_history'],
  ['git checkout -- .', 'git_history'],
  ['git checkout .', 'git_history'],
  ['git restore .', 'git_history'],
  ['git branch -D feature', 'git_history'],
  ['git tag -d v1', 'git_history'],
  ['git update-ref -d refs/heads/x', 'git_history'],
  ['git reflog expire --expire=now --all', 'git_history'],
  ['git gc --prune=now', 'git_history'],
  ['git stash clear', 'git_history'],
  ['git -C ../other reset --hard', 'git_history'],
  ['git push', 'git_push'],
  ['git push origin main', 'git_push'],
  ['git -c user.name=x push', 'git_push'],
  ['bash -c "git push origin"', 'git_push'],
  ["sh -c 'cd x && git push'", 'git_push'],
  ['bash -lc "bash -c \\"git push\\""', 'git_push'],
  ['eval "git push"', 'git_push'],
  ['env GIT_TRACE=1 git push', 'git_push'],
  ['curl https://example.com', 'network'],
  ['wget http://x/y.tar.gz', 'network'],
  ['ssh host ls', 'network'],
  ['scp a host:b', 'network'],
  ['rsync -a src/ host:/srv/', 'network'],
  ['nc -l 8080', 'network'],
  ['git clone https://github.com/a/b', 'network'],
  ['git fetch origin', 'network'],
  ['git pull', 'network'],
  ['git ls-remote origin', 'network'],
  ['npm install', 'network'],
  ['npm i lodash', 'network'],
  ['npm ci', 'network'],
  ['npm --prefix web install', 'network'],
  ['npm publish', 'network'],
  ['yarn', 'network'],
  ['yarn add react', 'network'],
  ['pnpm install', 'network'],
  ['pip install requests', 'network'],
  ['python3 -m pip install requests', 'network'],
  ['cargo install ripgrep', 'network'],
  ['go get example.com/x', 'network'],
  ['docker pull ubuntu', 'network'],
  ['apt-get install -y jq', 'network'],
  ['python3 -c "import urllib.request; urllib.request.urlopen(\'https://x.io\')"', 'network'],
  ['node -e "fetch(\'http://localhost:1\')"', 'network'],
  ['timeout 10 curl x', 'network'],
  ['sudo ls', 'privilege'],
  ['su -c "ls"', 'privilege'],
  ['doas make install', 'privilege'],
];

test('dangerous commands are refused with their category', () => {
  for (const [c, category] of REFUSED) assert.equal(refusedAs(c), category, c);
});

test('a force push is git_history even when pushing is allowed', () => {
  const r = checkCommand('git push --force origin main', { allow: ['git_push'] });
  assert.ok(!r.allowed && r.category === 'git_history');
  assert.ok(!checkCommand('git push origin +main', { allow: ['git_push'] }).allowed);
  assert.ok(checkCommand('git push origin main', { allow: ['git_push'] }).allowed);
});

test('an allowed category lets the command run; others on the same line still count', () => {
  assert.ok(checkCommand('rm -rf build', { allow: ['recursive_delete'] }).allowed);
  assert.ok(checkCommand('npm install && npm test', { allow: ['network'] }).allowed);
  const r = checkCommand('npm install && git push', { allow: ['network'] });
  assert.ok(!r.allowed && r.category === 'git_push');
  const sudo = checkCommand('sudo rm -rf /tmp/x', { allow: ['privilege'] });
  assert.ok(!sudo.allowed && sudo.category === 'recursive_delete', 'looks through sudo');
  assert.ok(checkCommand('sudo rm -rf /tmp/x', { allow: ['privilege', 'recursive_delete'] }).allowed);
});

test('the refusal message says what, why, and how to allow it', () => {
  const r = checkCommand('npm run build; rm -rf dist', DEFAULT_POLICY);
  assert.ok(!r.allowed);
  assert.match(r.message, /`rm -rf dist`/);
  assert.match(r.message, /recursive/);
  assert.match(r.message, /'recursive_delete'/);
  assert.match(r.message, /commandPolicy\.allow/);
});

test('odd input never throws', () => {
  for (const c of [
    '',
    '   ',
    '"unterminated',
    "'open",
    '$(',
    '`',
    'a && && b',
    ')(',
    'constructor',
    'toString x',
    'x'.repeat(10_000),
  ]) {
    assert.equal(checkCommand(c, DEFAULT_POLICY).allowed, true, JSON.stringify(c.slice(0, 20)));
  }
  let deep = 'rm -rf x';
  for (let i = 0; i < 5; i++) deep = `bash -c ${JSON.stringify(deep)}`;
  assert.equal(refusedAs(deep), 'recursive_delete');
});
