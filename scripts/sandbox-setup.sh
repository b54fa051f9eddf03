#!/usr/bin/env bash
# Installs what Foreman's sandbox needs (src/infra/bubblewrap.ts): bubblewrap, Debian's package
# `bubblewrap`. scripts/test.mjs runs it before the test tiers, so a fresh Debian or Ubuntu machine
# (CI's included) passes the sandbox tests.
#
#   bash scripts/sandbox-setup.sh     # the last line printed is the bwrap binary's path
#
# A no-op when bwrap is on PATH already, and on systems other than Linux (Foreman has no sandbox
# there yet). Runs as root, or with sudo for apt-get. When another apt or dpkg holds its lock (an
# unattended upgrade on a fresh machine), it says so in one line and waits for the lock instead
# of failing (scripts/apt-wait.sh), up to FOREMAN_APT_LOCK_WAIT seconds (default 600).
set -euo pipefail

log() { echo "sandbox-setup: $*" >&2; }
die() { log "$*"; exit 1; }
# shellcheck source=scripts/apt-wait.sh
source "$(dirname "${BASH_SOURCE[0]}")/apt-wait.sh"

main() {
  if [ "$(uname -s)" != Linux ]; then
    log "not Linux: Foreman has no sandbox for $(uname -s) yet, nothing to install"
    exit 0
  fi
  if command -v bwrap >/dev/null; then
    command -v bwrap
    exit 0
  fi
  command -v apt-get >/dev/null || die "bwrap is missing and there is no apt-get: install bubblewrap with this system's package manager"
  SUDO=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || die "bwrap is missing; not root and no sudo: install bubblewrap as root"
    SUDO=(sudo)
  fi
  log "installing Debian's bubblewrap"
  apt_get update || die "apt-get update failed (above); Debian's archive must be reachable"
  apt_get install -y --no-install-recommends bubblewrap || die "could not install Debian's bubblewrap (apt's reason above)"
  command -v bwrap >/dev/null || die "bwrap is still missing after installing bubblewrap"
  command -v bwrap
}

main "$@"
