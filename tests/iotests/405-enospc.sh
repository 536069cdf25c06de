#!/usr/bin/env bash
# A full disk, on a 2 MiB tmpfs (skipped where we cannot mount one): the
# reference's messages and exit codes, and what it leaves behind. A
# preallocating create leaves an empty file, a preallocating resize leaves
# the image as it was (what was written is given back), a convert or dd
# names where the writes failed, in image order.
. "$(dirname "$0")/common.rc"
. "$(dirname "$0")/common.qemu-io.rc"

mkdir small
mount -t tmpfs -o size=2m tmpfs small 2>/dev/null ||
    _skip "cannot mount a tmpfs (needs root)"
trap 'umount "$TEST_DIR/small"' EXIT

_random_file r1.raw 1048576 4051
_random_file r4.raw 4194304 4052

# Size, allocation in KiB, and checksum of each file in small/.
_ls() {
    local f
    for f in small/*; do
        [ -e "$f" ] || { echo "(empty)"; return 0; }
        echo "$(stat -c '%n %s' "$f") $(du -k "$f" | cut -f1)K" \
             "$(md5sum < "$f" | cut -d' ' -f1)"
    done
}

for p in full falloc off; do
    echo "== create -o preallocation=$p, 4 MiB"
    img create -f raw -o preallocation=$p small/x.raw 4M
    _ls
    rm -f small/*
done

echo "== create -o preallocation=full over an image"
cp r1.raw small/x.raw
img create -f raw -o preallocation=full small/x.raw 4M
_ls
rm -f small/*

for p in full falloc; do
    echo "== resize --preallocation=$p"
    cp r1.raw small/x.raw
    img resize -f raw --preallocation=$p small/x.raw 4M
    _ls
    rm -f small/*
done

echo "== convert"
img convert -O raw r4.raw small/o.raw
_ls
rm -f small/*
echo "== convert, one chunk fails after a write of another"
head -c 1331200 /dev/zero > small/fill
img convert -O raw r4.raw small/o.raw
img convert -W -m 1 -O raw r4.raw small/o.raw
rm -f small/*
echo "== convert -n into a sparse image"
img create -q -f raw small/o.raw 4M
img convert -n -O raw r4.raw small/o.raw
rm -f small/*
echo "== convert -S 0 of zeroes"
img create -q -f raw z.raw 4M
img convert -S 0 -O raw z.raw small/o.raw
rm -f small/*
echo "== dd"
img dd if=r4.raw of=small/o.raw bs=1M
rm -f small/*
echo "== qemu-io"
img create -q -f raw small/o.raw 4M
qio -f raw -c 'write -P 1 0 3M' small/o.raw
qio -f raw -c 'write -z 0 3M' small/o.raw
rm -f small/*
