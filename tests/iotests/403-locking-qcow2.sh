#!/usr/bin/env bash
# Image locking for the commands that work on qcow2 chains (commit, rebase,
# amend, snapshot, bitmap, check -r, resize, create and convert over an
# image, dd), run while another process holds the top image, its backing
# file or a raw base: the reference's qemu-io read-only, read-write, with
# -U, and ours. After each command the test says which images changed:
# none may where the reference refuses. (Bytes of images that a command
# rewrites may differ between implementations; whether they changed not.)
#
# Worth knowing from the reference: a qcow2 user shares neither writes nor
# resizes of its file, but a backing file is shared with writers, so a
# read-write holder of the base stops 'commit' (which writes the base) and
# any qcow2 open of the base, not a raw one; and creating a qcow2 image over
# a raw file held read-write by qemu-io passes the file step (raw users
# share everything), fails opening it as qcow2, and then deletes the file.
. "$(dirname "$0")/common.rc"
. "$(dirname "$0")/common.qemu-io.rc"
. "$(dirname "$0")/common.locking.rc"
_require_format qcow2

_random_file r.raw 1048576 4031
mkdir pristine
(
    cd pristine
    "$REF_QEMU_IMG" create -q -f raw base.raw 1M
    "$REF_QEMU_IO" -f raw -c 'write -P 1 0 64k' base.raw >/dev/null
    "$REF_QEMU_IMG" create -q -f qcow2 base.qcow2 1M
    "$REF_QEMU_IO" -c 'write -P 2 0 64k' base.qcow2 >/dev/null
    "$REF_QEMU_IMG" create -q -f qcow2 nb.qcow2 1M
    "$REF_QEMU_IMG" create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
    "$REF_QEMU_IO" -c 'write -P 3 64k 64k' top.qcow2 >/dev/null
    "$REF_QEMU_IMG" create -q -f qcow2 -b base.raw -F raw topr.qcow2
    "$REF_QEMU_IO" -c 'write -P 4 64k 64k' topr.qcow2 >/dev/null
)
IMAGES="base.raw base.qcow2 nb.qcow2 top.qcow2 topr.qcow2"

# Which images differ from the pristine set (or are gone).
_changed() {
    local f out=""
    for f in $IMAGES; do
        if [ ! -e "$f" ]; then
            out="$out $f:deleted"
        elif ! cmp -s "$f" "pristine/$f"; then
            out="$out $f:changed"
        fi
    done
    echo "changed:${out:- nothing}"
}

OPS=(
    "img commit top.qcow2"
    "img commit topr.qcow2"
    "img rebase -b nb.qcow2 -F qcow2 top.qcow2"
    "img rebase -u -b nb.qcow2 -F qcow2 top.qcow2"
    "img amend -o lazy_refcounts=on top.qcow2"
    "img snapshot -c snap top.qcow2"
    "img check -r all top.qcow2"
    "img resize top.qcow2 2M"
    "img create -f qcow2 top.qcow2 1M"
    "img create -f qcow2 base.qcow2 1M"
    "img create -f qcow2 base.raw 1M"
    "img convert -O qcow2 r.raw top.qcow2"
    "img convert -n -O qcow2 r.raw top.qcow2"
    "img convert -O qcow2 top.qcow2 top.qcow2"
    "img convert -O qcow2 -B base.qcow2 -F qcow2 r.raw top.qcow2"
    "img dd -O qcow2 if=r.raw of=top.qcow2"
    "img convert -O raw top.qcow2 o.raw"
    "img map top.qcow2"
    "img info top.qcow2 | head -3"
    "img info -U top.qcow2 | head -2"
    "img check top.qcow2"
    "img measure -O qcow2 top.qcow2 | head -1"
    "img compare top.qcow2 topr.qcow2"
    "qio -c 'write -P 9 0 4k' top.qcow2"
    "qio -c 'write -P 9 0 4k' topr.qcow2"
    "qio -r -c 'read -P 3 64k 4k' top.qcow2"
)

# Bitmaps only where a holder stops them before the format is involved.
BITMAP_OP="img bitmap --add top.qcow2 bm"

# _case FILE "BYTES" WITH_BITMAP HOLDER...: every op against the holder.
_case() {
    local f=$1 want=$2 bitmap=$3 op
    shift 3
    for op in "${OPS[@]}" ${bitmap:+"$BITMAP_OP"}; do
        rm -f ./*.qcow2 ./*.raw.tmp base.raw o.raw
        cp pristine/* .
        _hold "$f" "$want" "$@"
        echo "\$ ${op#* }"
        eval "$op"
        _release
        _changed
    done
}

for h in "-r" "" "-U -r"; do
    echo
    echo "== top.qcow2 held by the reference's qemu-io $h"
    case "$h" in
    -r) want="100 201 203"; bm=yes ;;
    "") want="100 101 103 201 203"; bm=yes ;;
    *) want=100; bm= ;;
    esac
    _case top.qcow2 "$want" "$bm" \
        "$REF_QEMU_IO" $h -c 'sleep 600000' top.qcow2
done

echo
echo "== base.qcow2 held by the reference's qemu-io -r"
_case base.qcow2 "100 201 203" "" \
    "$REF_QEMU_IO" -r -c 'sleep 600000' base.qcow2
echo
echo "== base.qcow2 held by the reference's qemu-io"
_case base.qcow2 "100 101 103 201 203" "" \
    "$REF_QEMU_IO" -c 'sleep 600000' base.qcow2
echo
echo "== base.raw held by the reference's qemu-io -f raw"
_case base.raw "100 101" "" \
    "$REF_QEMU_IO" -f raw -c 'sleep 600000' base.raw
echo
echo "== top.qcow2 held by the side's own qemu-io"
_case top.qcow2 "100 101 103 201 203" yes \
    "$QEMU_IO" -c 'sleep 600000' top.qcow2
