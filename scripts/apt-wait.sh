# Sourced by scripts/e2e-setup.sh and scripts/sandbox-setup.sh: apt-get that waits while another
# program holds Debian's package lock (an unattended upgrade on a fresh machine, a package manager
# left open) instead of failing at once with apt's exit code 100, and says so in one line.
#
# The sourcing script defines log() (one line to stderr) and the array SUDO (empty as root, else
# (sudo)) before calling apt_get. FOREMAN_APT_LOCK_WAIT: seconds to wait in all (default 600).
#
# dpkg's lock is waited for by apt itself (-o DPkg::Lock::Timeout), which prints "Waiting for cache
# lock: …" on its standard output every second; the first such line becomes our one line. The
# lists lock of `apt-get update` is not covered by that option on apt 2.6 (it fails at once), so a
# refusal naming a lock is tried again every few seconds until the wait is used up.

APT_LOCK_WAIT="${FOREMAN_APT_LOCK_WAIT:-600}"
# A file that holds a line once the waiting was announced (shared with the filter's subshell);
# made on the first apt_get, removed when the script exits.
APT_NOTED=''

# Says once per script that apt waits for a lock; $1 is apt's sentence naming the lock and holder.
apt_note_waiting() {
  [ -s "$APT_NOTED" ] && return 0
  echo noted >"$APT_NOTED"
  local holder="${1##*held by }"
  [ "$holder" = "$1" ] && holder="another program" || holder="${holder%%...*}"
  log "Debian's package lock is held by $holder; waiting for it (up to ${APT_LOCK_WAIT} s, FOREMAN_APT_LOCK_WAIT)"
}

# Reads apt's standard output: announces its first wait for the lock, drops the rest.
apt_watch() {
  local line
  while IFS= read -r line; do
    case "$line" in
      'Waiting for cache lock'*) apt_note_waiting "${line#Waiting for cache lock: }" ;;
    esac
  done
}

# apt-get "$@", waiting for Debian's package lock. On failure, apt's own error lines go to stderr.
apt_get() {
  local deadline=$((SECONDS + APT_LOCK_WAIT)) err left
  if [ -z "$APT_NOTED" ]; then
    APT_NOTED=$(mktemp)
    trap 'rm -f "$APT_NOTED"' EXIT
  fi
  err=$(mktemp)
  while true; do
    left=$((deadline - SECONDS))
    [ "$left" -gt 0 ] || left=0
    if "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -o "DPkg::Lock::Timeout=$left" "$@" 2>"$err" |
      apt_watch; then
      rm -f "$err"
      return 0
    fi
    if grep -qiE 'could not get lock|unable to (acquire|lock)|is another process using it' "$err" &&
      [ "$SECONDS" -lt "$deadline" ]; then
      apt_note_waiting "$(grep -m1 -i 'could not get lock' "$err" | sed 's/^E: //')"
      sleep 3
      continue
    fi
    if grep -qiE 'could not get lock|unable to (acquire|lock)|is another process using it' "$err"; then
      log "Debian's package lock was still held after ${APT_LOCK_WAIT} s: let the program holding it finish (or set FOREMAN_APT_LOCK_WAIT to wait longer), then run this again"
    else
      grep '^E:' "$err" >&2 || cat "$err" >&2
    fi
    rm -f "$err"
    return 1
  done
}
