#!/usr/bin/env bash
# convert --bitmaps copies each persistent bitmap (granularity, dirty bits,
# enabled state, stored order) into the new image; an inconsistent one
# stops the convert before the target is made unless --skip-broken-bitmaps
# says to leave it out. The targets are compared byte for byte.
. "$(dirname "$0")/common.rc"
_require_format qcow2

ref_img create -q -f qcow2 -o cluster_size=4k src.qcow2 8M
for b in x a m; do
    ref_img bitmap --add src.qcow2 $b
done
ref_img bitmap --add -g 512 src.qcow2 fine
ref_img bitmap --disable src.qcow2 a
ref_io -c 'write -P 1 0 64k' -c 'write -P 2 1M 4k' -c 'write 5M 3k' \
    src.qcow2 > /dev/null
ref_img bitmap --enable src.qcow2 a
ref_io -c 'write -P 3 7M 512' src.qcow2 > /dev/null
ref_img bitmap --disable src.qcow2 a

echo "== every bitmap, in the source's order"
img convert --bitmaps -O qcow2 src.qcow2 t1.qcow2
img info t1.qcow2 | sed -n '/bitmaps:/,/refcount bits/p'
md5sum < t1.qcow2
ref_img check t1.qcow2
ref_img compare src.qcow2 t1.qcow2

echo "== option checks"
img convert --skip-broken-bitmaps -O qcow2 src.qcow2 t2.qcow2
img convert --bitmaps -O qcow2 src.qcow2 src.qcow2 t2.qcow2
img convert -n --bitmaps -O qcow2 src.qcow2 t1.qcow2
ls t2.qcow2 2>/dev/null || echo "t2.qcow2 not created"

echo "== an inconsistent bitmap"
cp src.qcow2 broken.qcow2
("$REF_QEMU_IO" -c 'sigraise 9' broken.qcow2; true) > /dev/null 2>&1
img convert --bitmaps -O qcow2 broken.qcow2 t3.qcow2
img convert -n --bitmaps -O raw broken.qcow2 t1.qcow2
ls t3.qcow2 2>/dev/null || echo "t3.qcow2 not created"
img convert -p --bitmaps --skip-broken-bitmaps -O qcow2 broken.qcow2 \
    t4.qcow2 | tr '\r' '\n'
img info t4.qcow2 | grep -c 'name:'
ref_img compare src.qcow2 t4.qcow2
