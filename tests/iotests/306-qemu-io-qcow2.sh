#!/usr/bin/env bash
# qemu-io on qcow2: the write paths tests reach through it. Unaligned
# writes (copy-on-write inside a cluster, from a backing file too), zero
# writes with and without unmap, discards, compressed writes, subclusters
# (extended_l2), truncate, -s, and what map/alloc/info report afterwards.
# Each image is checked by the reference's qemu-img check.
. "$(dirname "$0")/common.rc"
. "$(dirname "$0")/common.qemu-io.rc"
_require_format qcow2

check() { ref_img check "$@" | grep -v "^Image end offset"; }

echo "== unaligned writes: COW inside clusters"
img create -q -f qcow2 a.qcow2 4M
qio -c "write -P 0x11 1000 3000" -c "write -P 0x22 65000 1000" \
    -c "write -P 0x33 200k 1" -c "writev -P 0x44 1M 511 1 512" \
    -c "read -P 0 0 1000" -c "read -P 0x11 1000 3000" -c "read -P 0 4000 61000" \
    -c "read -P 0x22 65000 1000" -c "read -P 0 66000 1" -c "read -v 204799 3" \
    -c "read -P 0x44 1M 1k" -c map -c "alloc 0 4M" -c "alloc 64k 64k" a.qcow2
check a.qcow2

echo "== writes over a backing file"
img create -q -f qcow2 base.qcow2 4M
qio -c "write -P 0xaa 0 192k" -c "write -P 0xbb 1M 64k" base.qcow2
img create -q -f qcow2 -b base.qcow2 -F qcow2 top.qcow2
qio -c "write -P 0x01 1000 10" -c "write -P 0x02 129k 2k" \
    -c "write -P 0x03 3M 512" -c "read -P 0xaa 0 1000" \
    -c "read -P 0x01 1000 10" -c "read -P 0xaa 1010 127k" \
    -c "read -P 0x02 129k 2k" -c "read -P 0xaa 131k 61k" \
    -c "read -P 0xbb 1M 64k" -c "read -P 0 3145727 1" -c "read -P 0 2M 512" \
    -c map -c "alloc 0 4M" -c "alloc 0" -c "alloc 64k 64k" -c "alloc 1M 10" \
    -c info top.qcow2
check top.qcow2
check base.qcow2

echo "== zero writes and discards"
img create -q -f qcow2 -b base.qcow2 -F qcow2 z.qcow2
qio -c "write -z 0 64k" -c "write -z -u 64k 64k" -c "write -z 1M 1000" \
    -c "write -z -u 2M 64k" -c "write -z -n 3M 64k" -c "write -z 130k 1k" \
    -c "read -P 0 0 128k" -c "read -P 0xaa 128k 2k" -c "read -P 0 130k 1k" \
    -c "read -P 0 1M 1000" -c "read -P 0xbb 1049576 16k" \
    -c map -c "alloc 0 4M" z.qcow2
check z.qcow2
img create -q -f qcow2 d.qcow2 4M
qio -c "write -P 0x55 0 1M" -c "discard 0 64k" -c "discard 100k 10k" \
    -c "discard 256k 256k" -c "write -z -u 512k 64k" -c "write -z 576k 64k" \
    -c "read -P 0 0 64k" -c "read -P 0x55 64k 192k" -c "read -P 0 256k 384k" \
    -c "read -P 0x55 640k 384k" -c map -c "alloc 0 1M" d.qcow2
check d.qcow2
qio -d ignore -c "discard 640k 64k" -c "read -P 0x55 640k 64k" \
    -c "alloc 640k 64k" d.qcow2

echo "== compressed writes"
img create -q -f qcow2 c.qcow2 4M
qio -c "write -c -P 0x66 0 64k" -c "write -c 64k 64k" -c "write -c 1M 512" \
    -c "write -c 2M 128k" -c "write -c 100 64k" -c "write -c 0 1000" \
    -c "write -c -f 0 64k" -c "write -c -z 3M 64k" \
    -c "read -P 0x66 0 64k" -c "read -P 0xcd 64k 64k" -c "read -P 0xcd 2M 128k" \
    -c map -c "alloc 0 4M" c.qcow2
check c.qcow2
qio -c "write -P 0x67 1000 10" -c "read -P 0x66 0 1000" \
    -c "read -P 0x67 1000 10" -c "read -P 0x66 1010 64526" c.qcow2
check c.qcow2

echo "== subclusters (extended_l2)"
img create -q -f qcow2 -o extended_l2=on,cluster_size=64k s.qcow2 4M
qio -c "write -P 0x77 0 2k" -c "write -P 0x78 5k 100" -c "write -z 8k 4k" \
    -c "write -P 0x79 64k 64k" -c "discard 64k 2k" -c "write -z -u 68k 2k" \
    -c "read -P 0x77 0 2k" -c "read -P 0 2k 3k" -c "read -P 0x78 5k 100" \
    -c "read -P 0 8k 4k" -c "read -P 0 64k 2k" -c "read -P 0 68k 2k" \
    -c map -c "alloc 0 128k" -c "alloc 2k 2k" -c "alloc 4k 2k" -c info s.qcow2
check s.qcow2
img create -q -f qcow2 -o extended_l2=on -b base.qcow2 -F qcow2 s2.qcow2
qio -c "write -P 0x7a 3k 1k" -c "read -P 0xaa 0 3k" -c "read -P 0x7a 3k 1k" \
    -c "read -P 0xaa 4k 60k" -c map -c "alloc 0 64k" s2.qcow2
check s2.qcow2

echo "== truncate"
img create -q -f qcow2 t.qcow2 1M
qio -c "write -P 0x12 0 1M" -c "truncate 3M" -c length -c "read -P 0 1M 2M" \
    -c "truncate 512k" -c length -c "write 600k 1" -c map t.qcow2
check t.qcow2

echo "== -s: writes go to a temporary overlay"
qio -s -c "write -P 0x99 0 64k" -c "read -P 0x99 0 64k" -c map \
    -c "alloc 0 4M" a.qcow2
qio -c "read -P 0 0 1000" a.qcow2
check a.qcow2

# c.qcow2 is left out: the reference compresses clusters in parallel, so
# their order in the file varies from run to run.
for f in a base top z d s s2 t; do
    _md5 $f.qcow2
done
