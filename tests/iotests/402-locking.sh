#!/usr/bin/env bash
# Image locking against other processes, as the reference has it: every
# command that writes (create, convert, convert -n, dd, resize, bench -w,
# check -r, amend, snapshot, bitmap, commit, rebase, qemu-io write and
# truncate) and those that read, run against an image another process holds
# (the reference's qemu-io read-only, read-write and with -U, ours, a
# qcow2 image held as qcow2, and a convert reading it). A checksum after
# each command shows whether the image changed: it must not where the
# reference refuses. The raw format only, so that it runs on both sides
# whatever formats ours has (403 does the qcow2 commands).
#
# What the reference's lock bytes say (and ours now take): raw users share
# everything, so a raw image held by qemu-io, read-only or read-write, may
# still be recreated or written by qemu-img; a qcow2 user never shares
# writes or resizes of its file; convert's sources share only reads. So
# 'convert s.raw s.raw' fails on the "write" lock before the target is
# created, and so does writing a file that a qcow2 user or a convert has
# open, while reading an image someone writes fails only for convert.
. "$(dirname "$0")/common.rc"
. "$(dirname "$0")/common.qemu-io.rc"
. "$(dirname "$0")/common.locking.rc"

_random_file r.raw 1048576 4021
_random_file s0.raw 1048576 4022
_random_file s4.raw 4194304 4023

# bench prints its run time.
_bench() {
    img bench "$@" | sed -e 's/^Run completed in .*/Run completed in TIME/'
}

# What writes file $1 (raw), each followed by its checksum.
_writers() {
    local f=$1
    img create -f raw "$f" 1M; _md5 "$f"
    img convert -O raw r.raw "$f"; _md5 "$f"
    img convert -n -O raw s0.raw "$f"; _md5 "$f"
    img dd -O raw if=r.raw of="$f" bs=64k; _md5 "$f"
    img resize -f raw "$f" 2M; _md5 "$f"
    _bench -w -c 1 -f raw "$f"; _md5 "$f"
    qio -f raw -c 'write -P 0x5a 0 4k' "$f"; _md5 "$f"
    qio -f raw -c 'truncate 1M' "$f"; _md5 "$f"
}

# Commands that open it read-write only to refuse (raw has no such thing).
_refusers() {
    local f=$1
    img check -r all -f raw "$f"
    img amend -f raw -o size=1M "$f"
    img snapshot -c snap --image-opts "driver=raw,file.filename=$f"
    img bitmap --add -f raw "$f" bm | sed -e "s/#block[0-9]*/#blockN/"
    img commit -f raw "$f"
    img rebase -u -b r.raw -F raw -f raw "$f"
    _md5 "$f"
}

# What reads it: convert's sources refuse writers, the rest do not.
_readers() {
    local f=$1
    img convert -O raw -f raw "$f" o.raw
    img convert -U -O raw -f raw "$f" o.raw
    img dd -f raw if="$f" of=o.raw
    img compare -f raw -F raw "$f" "$f"
    img check -f raw "$f"
    img map -f raw "$f" | head -2
    img info -f raw "$f" | head -2
    qio -r -f raw -c 'read 0 4k' "$f"
    _md5 "$f"
}

echo "== convert onto its own source"
cp s0.raw s.raw
img convert -O raw s.raw s.raw; _md5 s.raw
img convert -O raw -T none s.raw s.raw; _md5 s.raw
img convert -O raw r.raw s.raw s.raw; _md5 s.raw
img convert -n -O raw s.raw s.raw; _md5 s.raw
echo "-- -U shares the source, and dd does not lock it: the reference"
echo "-- loses the data there too"
img convert -U -O raw s.raw s.raw; _md5 s.raw
cp s0.raw s.raw
img dd if=s.raw of=s.raw; _md5 s.raw

for h in "-r" "" "-U -r"; do
    echo
    echo "== s.raw held by the reference's qemu-io $h -f raw"
    cp s0.raw s.raw
    want="100 101"
    case "$h" in *-r*) want=100 ;; esac
    _hold s.raw "$want" "$REF_QEMU_IO" $h -f raw -c 'sleep 600000' s.raw
    _lock_set s.raw; echo
    _readers s.raw
    _writers s.raw
    _refusers s.raw
    _release
done

echo
echo "== s.raw held by the side's own qemu-io -f raw"
cp s0.raw s.raw
_hold s.raw "100 101" "$QEMU_IO" -f raw -c 'sleep 600000' s.raw
_lock_set s.raw; echo
_readers s.raw
_writers s.raw
_release

for h in "-r" "" "-U -r"; do
    echo
    echo "== q.qcow2 held as qcow2 by the reference's qemu-io $h"
    rm -f q.qcow2
    "$REF_QEMU_IMG" create -q -f qcow2 q.qcow2 1M
    case "$h" in
    -r) want="100 201 203" ;;
    "") want="100 101 103 201 203" ;;
    *) want=100 ;;
    esac
    _hold q.qcow2 "$want" "$REF_QEMU_IO" $h -f qcow2 -c 'sleep 600000' \
        q.qcow2
    _lock_set q.qcow2; echo
    _md5 q.qcow2
    _readers q.qcow2
    _writers q.qcow2
    _refusers q.qcow2
    _release
done

for side in ref ours; do
    echo
    echo "== s4.raw read by a slow convert ($side)"
    cp s4.raw s.raw
    prog=$REF_QEMU_IMG
    [ $side = ours ] && prog=$QEMU_IMG
    _hold s.raw "100 201 203" "$prog" convert -r 1k -O raw s.raw hold.raw
    _lock_set s.raw; echo
    _readers s.raw
    _writers s.raw
    _refusers s.raw
    _release
done
