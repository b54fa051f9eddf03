#!/usr/bin/env bash
# Installs what Foreman's sandbox needs (src/infra/bubblewrap.ts): bubblewrap, Debian's package
# `bubblewrap`. scripts/test.mjs runs it before the test tiers, so a fresh Debian or Ubuntu machine
# (CI's included) passes the sandbox tests.
#
#   bash scripts/sandbox-setup.sh     # the last line printed is the bwrap binary's path
#
# A no-op when bwrap is on PATH already, and on systems other than Linux (Foreman has no sandbox
# there yet). Runs as root, or with sudo for apt-get. When another apt or dpkg holds its lock (an
# unattended upgrade on a fresh machine), it waits for the lock instead of failing, up to
# FOREMAN_APT_LOCK_WAIT seconds (default 600).
set -euo pipefail

readonly LOCK_WAIT="${FOREMAN_APT_LOCK_WAIT:-600}"

log() { echo "sandbox-setup: $*" >&2; }
die() { log "$*"; exit 1; }

# Run apt-get, waiting while another process holds one of apt's locks. DPkg::Lock::Timeout makes
# apt wait for dpkg's lock; the lists lock of `apt-get update` is not covered by it on every apt
# version, so a refusal naming a lock is retried until the wait is used up.
apt_get() {
  local deadline=$((SECONDS + LOCK_WAIT)) err
  err=$(mktemp)
  while true; do
    if "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o "DPkg::Lock::Timeout=$LOCK_WAIT" "$@" 2>"$err"; then
      rm -f "$err"
      return 0
    fi
    if ! grep -qiE 'could not get lock|unable to (acquire|lock)|is another process using it' "$err" ||
      [ "$SECONDS" -ge "$deadline" ]; then
      cat "$err" >&2
      rm -f "$err"
      return 1
    fi
    log "apt is busy (another process holds its lock); waiting"
    sleep 5
  done
}

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
  apt_get update -qq >/dev/null
  apt_get install -y -qq --no-install-recommends bubblewrap >/dev/null
  command -v bwrap >/dev/null || die "bwrap is still missing after installing bubblewrap"
  command -v bwrap
}

main "$@"
