#!/bin/sh
# postern-launcher: what init starts on an A/B box. It boots the active slot's executable, or the
# slot on trial once (counting the try before it starts), and falls back by itself: a trial that
# exits, hangs past its trial time or does not match its recorded SHA-256 is marked failed and the
# active slot runs again. It needs no node (the executable it starts may be the broken one): POSIX
# sh, mv, sync, date, sleep, kill; sha256sum when present. firmware/upgrade/slot-state.ts is the same
# logic in TypeScript and documents the boot record, `key=value` lines.
#
#   POSTERN_SLOTS_DIR   folder with a, b and boot.state (default: slots/ beside this script)
#   POSTERN_SLOT_A, POSTERN_SLOT_B, POSTERN_BOOT_STATE   each path on its own
# Arguments are passed to the executable (e.g. `run --state /var/lib/postern`). The executable sees
# POSTERN_SLOT (a or b), POSTERN_TRIAL (1 on a trial boot) and the three paths above. Its exit code 75 means "boot again"
# (an upgrade was applied, or the trial gave up); any other exit of the active slot ends the
# launcher with that code, for init to restart (systemd Restart=, procd respawn).
set -u

dir=${POSTERN_SLOTS_DIR:-$(dirname "$0")/slots}
slot_a=${POSTERN_SLOT_A:-$dir/a}
slot_b=${POSTERN_SLOT_B:-$dir/b}
state=${POSTERN_BOOT_STATE:-$dir/boot.state}
BOOT_AGAIN=75

say() { echo "postern-launcher: $*" >&2; }

# The record's fields (defaults: a fresh box running slot a).
read_state() {
  active=a trial='' tries=0 max_tries=1 trial_seconds=300 a_sha256='' b_sha256='' a_version='' b_version=''
  [ -r "$state" ] || return 0
  while IFS='=' read -r k v; do
    case $k in
      active) active=$v ;; trial) trial=$v ;; tries) tries=$v ;; max_tries) max_tries=$v ;;
      trial_seconds) trial_seconds=$v ;; a_sha256) a_sha256=$v ;; b_sha256) b_sha256=$v ;;
      a_version) a_version=$v ;; b_version) b_version=$v ;;
    esac
  done < "$state"
  case $active in a|b) ;; *) say "boot record damaged (active='$active'): booting slot a"; active=a trial='' ;; esac
  case $trial in a|b) [ "$trial" = "$active" ] && trial='' ;; *) trial='' ;; esac
  case $tries in ''|*[!0-9]*) tries=0 ;; esac
  case $max_tries in ''|*[!0-9]*) max_tries=1 ;; esac
  case $trial_seconds in ''|*[!0-9]*) trial_seconds=300 ;; esac
}

# Rewrites the record with the given key=value pairs replaced, atomically (temp, sync, rename, sync).
write_state() {
  [ -r "$state" ] || return 0
  tmp="$state.launcher-new"
  : > "$tmp" || { say "cannot write $tmp"; return 1; }
  while IFS= read -r line; do
    for kv in "$@"; do [ "${kv%%=*}" = "${line%%=*}" ] && line=$kv; done
    printf '%s\n' "$line" >> "$tmp"
  done < "$state"
  sync
  mv -f "$tmp" "$state"
  sync
}

slot_path() { if [ "$1" = b ]; then echo "$slot_b"; else echo "$slot_a"; fi; }

fail_trial() { # $1 reason
  if [ "$trial" = b ]; then v=$b_version; else v=$a_version; fi
  say "trial of slot $trial ($v) failed: $1; booting slot $active again"
  write_state trial= tries=0 "failed_slot=$trial" "failed_version=$v" "failed_reason=$1" "failed_at=$(date +%s)" failed_handled=0
  trial=''
}

# Sets $slot and $is_trial for this boot, and records the decision before anything runs.
choose() {
  read_state
  is_trial=0
  slot=$active
  [ -n "$trial" ] || return 0
  if [ "$tries" -ge "$max_tries" ]; then fail_trial not-committed; return 0; fi
  if command -v sha256sum > /dev/null 2>&1; then
    if [ "$trial" = b ]; then want=$b_sha256; else want=$a_sha256; fi
    got=$(sha256sum < "$(slot_path "$trial")" 2>/dev/null | cut -d' ' -f1)
    if [ "$got" != "$want" ]; then fail_trial hash-mismatch; return 0; fi
  fi
  write_state "tries=$((tries + 1))"
  slot=$trial is_trial=1
}

child='' stopping=0
trap 'stopping=1; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null' TERM INT

boots=0
while [ "$boots" -lt 8 ]; do
  boots=$((boots + 1))
  choose
  exe=$(slot_path "$slot")
  if [ ! -x "$exe" ]; then
    say "slot $slot ($exe) holds no executable"
    exit 1
  fi
  if [ "$is_trial" = 1 ]; then say "booting slot $slot on trial"; else say "booting slot $slot"; fi
  started=$(date +%s)
  POSTERN_SLOT=$slot POSTERN_TRIAL=$is_trial POSTERN_SLOT_A=$slot_a POSTERN_SLOT_B=$slot_b POSTERN_BOOT_STATE=$state "$exe" "$@" &
  child=$!
  guard=''
  if [ "$is_trial" = 1 ]; then
    # The backstop for a trial that hangs: still not committed after its time, it is stopped.
    (
      i=0
      while [ "$i" -lt "$trial_seconds" ]; do sleep 1; kill -0 "$child" 2>/dev/null || exit 0; i=$((i + 1)); done
      grep -q "^trial=$slot\$" "$state" 2>/dev/null || exit 0
      kill -TERM "$child" 2>/dev/null; sleep 10; kill -KILL "$child" 2>/dev/null
    ) &
    guard=$!
  fi
  while :; do
    wait "$child"; rc=$?
    kill -0 "$child" 2>/dev/null || break
  done
  child=''
  [ -n "$guard" ] && kill "$guard" 2>/dev/null
  [ "$stopping" = 1 ] && exit "$rc"
  # Only quick successive boots count towards giving up; an upgrade a day is no loop.
  [ $(($(date +%s) - started)) -ge 60 ] && boots=0
  [ "$rc" = "$BOOT_AGAIN" ] && continue
  if [ "$is_trial" = 1 ] && grep -q "^trial=$slot\$" "$state" 2>/dev/null; then
    say "slot $slot exited ($rc) before it was committed"
    continue
  fi
  exit "$rc"
done
say "gave up after $boots boots"
exit 1
