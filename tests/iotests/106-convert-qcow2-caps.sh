#!/usr/bin/env bash
# convert asks the block layer what a format can do: compressed writes (-c)
# and persistent bitmaps (--bitmaps), before creating the target or, for
# the target's bitmaps, once it is open (the target then stays behind, as
# with the reference).
. "$(dirname "$0")/common.rc"
_require_format qcow2

ref_img create -f qcow2 q.qcow2 1M > /dev/null
ref_img bitmap --add q.qcow2 b0
ref_img create -f raw r.raw 1M > /dev/null

echo "== --bitmaps into a format without bitmaps"
img convert --bitmaps -O raw q.qcow2 t1.raw
ls t1.raw
img convert -c --bitmaps -O raw q.qcow2 t2.raw
ls t2.raw 2>/dev/null || echo "t2.raw not created"
echo "== -n: the target's bitmaps come before -c"
img convert -n -c --bitmaps q.qcow2 r.raw
img convert -n --target-image-opts --bitmaps q.qcow2 driver=raw,file.filename=r.raw
img convert -n -c -O raw q.qcow2 r.raw
echo "== a raw source has no bitmaps"
img convert --bitmaps -O qcow2 r.raw t3.qcow2
ls t3.qcow2 2>/dev/null || echo "t3.qcow2 not created"
echo "== qcow2 writes compressed clusters and stores bitmaps"
img convert -c -O qcow2 r.raw t4.qcow2
img convert --bitmaps -O qcow2 q.qcow2 t5.qcow2
img info t5.qcow2 | grep -A4 bitmaps
