#!/usr/bin/env bash
# Sets up what Foreman's end-to-end tests (test/e2e) run on: a real VS Code, namely code-server
# (VS Code built for the browser, with the same Node extension host as the desktop app), Debian's
# Chromium to drive it through playwright-core, and the system libraries code-server's native
# modules build against. playwright-core itself is a devDependency in package.json.
#
#   bash scripts/e2e-setup.sh        # the last line printed is the code-server binary's path
#
# Environment:
#   FOREMAN_E2E_CODE_SERVER_DIR  where code-server is installed
#                                (default: $HOME/.cache/foreman-e2e/code-server-<version>)
#
# Idempotent and safe to run concurrently (a lock serialises installs): once everything is in
# place it only checks and prints the path. Needs the npm registry and Debian's archive, nothing
# else: the one download code-server's install would make from elsewhere (ripgrep) is served from
# Debian's ripgrep instead. Runs as root, or with sudo for apt-get. When another program holds
# Debian's package lock, it says so in one line and waits (scripts/apt-wait.sh,
# FOREMAN_APT_LOCK_WAIT seconds, default 600).
set -euo pipefail

readonly CODE_SERVER_VERSION=4.100.3 # VS Code 1.100.3: the last code-server line on Node 20
readonly INSTALL_DIR="${FOREMAN_E2E_CODE_SERVER_DIR:-$HOME/.cache/foreman-e2e/code-server-$CODE_SERVER_VERSION}"
readonly BIN="$INSTALL_DIR/node_modules/.bin/code-server"
readonly MARKER="$INSTALL_DIR/.foreman-e2e-complete"
readonly CHROMIUM=/usr/bin/chromium
# chromium: the browser; libkrb5/libx11/libxkbfile/libsecret: headers for code-server's native
# modules; ripgrep: VS Code's search binary; fonts: so screenshots render text.
readonly DEBIAN_PACKAGES=(chromium libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev pkg-config
  ripgrep fonts-dejavu-core fonts-liberation)

log() { echo "e2e-setup: $*" >&2; }
die() { log "$*"; exit 1; }
# shellcheck source=scripts/apt-wait.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt-wait.sh"

# The Debian packages from DEBIAN_PACKAGES that are not installed.
missing_packages() {
  local p
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || echo "$p"
  done
}

install_debian_packages() {
  local missing
  mapfile -t missing < <(missing_packages)
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "no apt-get here; install these by hand: ${missing[*]}"
  SUDO=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "not root and no sudo; install these as root: ${missing[*]}"
    SUDO=(sudo)
  fi
  log "installing Debian packages: ${missing[*]}"
  apt_get update || die "apt-get update failed (above); Debian's archive must be reachable"
  apt_get install -y --no-install-recommends "${missing[@]}" ||
    die "could not install Debian's ${missing[*]} (apt's reason above)"
}

# VS Code's @vscode/ripgrep downloads rg from GitHub in its postinstall, unless the asset is
# already in its download cache ($TMPDIR/vscode-ripgrep-cache-<package version>/). Read the
# version code-server pins, ask the registry which release tag that version fetches, and put
# Debian's rg in the cache under that name.
seed_ripgrep_cache() {
  local tmp="$1" shrinkwrap="$INSTALL_DIR/node_modules/code-server/lib/vscode/npm-shrinkwrap.json"
  local version tag pack
  version=$(node -p "require(process.argv[1]).packages['node_modules/@vscode/ripgrep'].version" "$shrinkwrap")
  pack=$(mktemp -d)
  (cd "$pack" && npm pack "@vscode/ripgrep@$version" --silent >/dev/null && tar xzf ./*.tgz)
  tag=$(sed -n "s/^const VERSION = '\(.*\)';/\1/p" "$pack/package/lib/postinstall.js")
  rm -rf "$pack"
  [ -n "$tag" ] || die "could not read the ripgrep release tag of @vscode/ripgrep@$version"
  local cache="$tmp/vscode-ripgrep-cache-$version" stage
  mkdir -p "$cache"
  stage=$(mktemp -d)
  cp "$(command -v rg)" "$stage/rg"
  tar czf "$cache/ripgrep-$tag-x86_64-unknown-linux-musl.tar.gz" -C "$stage" rg
  rm -rf "$stage"
  log "ripgrep: @vscode/ripgrep@$version ($tag) will use Debian's rg"
}

# code-server in two steps: the packages without their scripts (so the pinned versions can be
# read), then their install scripts (`npm rebuild`): code-server's npm-installs VS Code's own
# dependencies and builds their native modules; argon2's builds from source.
install_code_server() {
  [ "$(uname -m)" = x86_64 ] || die "only x86_64 is supported (the ripgrep cache is seeded for it)"
  mkdir -p "$INSTALL_DIR"
  cd "$INSTALL_DIR"
  rm -rf node_modules # what an interrupted install left (an empty ripgrep bin/ would stay empty)
  [ -f package.json ] || echo '{ "name": "foreman-e2e-code-server", "private": true }' >package.json
  log "installing code-server $CODE_SERVER_VERSION into $INSTALL_DIR (a few minutes)"
  npm install "code-server@$CODE_SERVER_VERSION" --ignore-scripts --no-audit --no-fund --loglevel=error >&2
  local tmp="$INSTALL_DIR/tmp"
  mkdir -p "$tmp"
  seed_ripgrep_cache "$tmp"
  # unsafe_perm: code-server's postinstall refuses to run as root without it.
  # yes: node-pty's install runs npx, which must not stop to ask (no TTY in CI).
  TMPDIR="$tmp" npm_config_unsafe_perm=true npm_config_yes=true \
    npm rebuild --loglevel=error >&2
  [ -x "$INSTALL_DIR/node_modules/code-server/lib/vscode/node_modules/@vscode/ripgrep/bin/rg" ] ||
    die "VS Code's ripgrep is missing after the install"
  # code-server writes a config file and logs under XDG folders on any start: keep them out of $HOME.
  XDG_CONFIG_HOME="$tmp" XDG_DATA_HOME="$tmp" "$BIN" --version >/dev/null || die "$BIN does not run"
  rm -rf "$tmp"
  echo "$CODE_SERVER_VERSION" >"$MARKER"
}

is_complete() {
  [ -x "$BIN" ] && [ "$(cat "$MARKER" 2>/dev/null)" = "$CODE_SERVER_VERSION" ]
}

main() {
  [ "$(node -p 'process.versions.node.split(".")[0]')" = 20 ] ||
    die "code-server $CODE_SERVER_VERSION needs Node 20 (this is $(node --version))"
  install_debian_packages
  [ -x "$CHROMIUM" ] || die "$CHROMIUM is missing after installing Debian's chromium"
  if ! is_complete; then
    mkdir -p "$(dirname "$INSTALL_DIR")"
    exec 9>"$INSTALL_DIR.lock"
    flock 9
    # Another setup may have finished while this one waited for the lock.
    is_complete || install_code_server
  fi
  echo "$BIN"
}

main "$@"
