#!/usr/bin/env bash
# Files we may not read or write: each command's error as an unprivileged
# user (root ignores file modes), and immutable files (EPERM even for root).
. "$(dirname "$0")/common.rc"

command -v setpriv >/dev/null || _skip "setpriv not installed"
chmod 755 "$TEST_DIR"
nobody() {
    _run setpriv --reuid=65534 --regid=65534 --clear-groups "$QEMU_IMG" "$@"
}

img create -q -f raw a.raw 1M
cp a.raw ro.raw; chmod 444 ro.raw
cp a.raw none.raw; chmod 000 none.raw

nobody info ro.raw | _filter_disk_size
nobody measure -O raw ro.raw
nobody snapshot -l ro.raw
nobody map --output=json -f raw ro.raw
for c in "info none.raw" "info --output=json none.raw" "map none.raw" \
         "check -f raw none.raw" "measure none.raw" \
         "resize -f raw ro.raw 2M" "resize -f raw none.raw 2M" \
         "amend -f raw -o size=1M ro.raw" "commit -f raw ro.raw" \
         "snapshot -c x ro.raw" "rebase -u -b '' -f raw ro.raw" \
         "bitmap --add -f raw ro.raw b" "create -f raw ro.raw 1M" \
         "create -f raw /nonwritable.raw 1M" "check -r all -f raw ro.raw"; do
    echo "-- $c"
    eval nobody $c
done

echo "== immutable"
cp a.raw imm.raw
chattr +i imm.raw 2>/dev/null || _skip "chattr +i not supported here"
img resize -f raw imm.raw 2M
img info -f raw imm.raw | _filter_disk_size
img commit -f raw imm.raw
img create -f raw imm.raw 1M
chattr -i imm.raw
