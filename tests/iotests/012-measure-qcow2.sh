#!/usr/bin/env bash
# measure with qcow2 in or out: sizes for new images, copies of raw and
# qcow2 images, cluster sizes, preallocation, bitmaps, -l snapshots.
. "$(dirname "$0")/common.rc"
_require_format qcow2

ref_img create -q -f raw a.raw 1M
ref_io -f raw -c 'write 0 64k' -c 'write 512k 64k' a.raw >/dev/null
ref_img create -q -f qcow2 q.qcow2 1M
ref_io -c 'write 0 64k' q.qcow2 >/dev/null
ref_img bitmap --add q.qcow2 bm0
ref_img bitmap --add -g 4k q.qcow2 bm1
ref_img snapshot -c snap1 q.qcow2

img measure -O qcow2 --size 1G
img measure -O qcow2 --size 0
img measure --output=json -O qcow2 --size 0
img measure -O qcow2 -o cluster_size=2M --size 1G
img measure -O qcow2 -o cluster_size=512 --size 1G
img measure -O qcow2 -o preallocation=full --size 1G
img measure -O qcow2 -o preallocation=metadata --output=json --size 1G
img measure -O qcow2 -o compat=0.10 --size 1G
img measure -O qcow2 -o refcount_bits=1 --size 100G
img measure -O qcow2 -o extended_l2=on --size 1G
img measure -O qcow2 -o backing_file=a.raw --size 1G
img measure -O qcow2 a.raw
img measure --output=json -O qcow2 a.raw
img measure -O qcow2 q.qcow2
img measure --output=json -O qcow2 q.qcow2
img measure -O raw q.qcow2
img measure -O qcow2 -l snap1 q.qcow2
img measure -O qcow2 -l snapshot.id=1 q.qcow2
img measure -O qcow2 -l snapshot.name=snap1 q.qcow2
img measure -O qcow2 -l snapshot.id=1,snapshot.name=snap1 q.qcow2

echo "== errors"
img measure -O qcow2 -o foo=bar --size 1G
img measure -O qcow2 -o cluster_size=3k --size 1G
img measure -O qcow2 -o preallocation=foo --size 1G
img measure -O qcow2 -o help --size 1G
img measure -O qcow2 -l nosnap q.qcow2
img measure -O qcow2 -l snapshot.id=1,snapshot.name=x q.qcow2
img measure -O qcow2 -l '' q.qcow2
