#!/usr/bin/env bash
# map on qcow2 chains: depth, present, zero clusters, discarded ranges,
# the file column, compressed clusters (no host offset for humans). The
# images are made by the reference so their layout is fixed.
. "$(dirname "$0")/common.rc"
_require_format qcow2

ref_img create -q -f qcow2 base.qcow2 4M
ref_io -c 'write -P 1 0 1M' -c 'write -z 1M 512k' -c 'write -P 2 3M 64k' \
    base.qcow2 >/dev/null
ref_img create -q -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2
ref_io -c 'write -P 3 512k 128k' -c 'write -z 2M 64k' -c 'discard 3M 64k' \
    mid.qcow2 >/dev/null
ref_img create -q -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2
ref_io -c 'write -P 4 64k 64k' top.qcow2 >/dev/null
ref_img create -q -f raw rbase.raw 2M
ref_io -f raw -c 'write -P 5 0 64k' rbase.raw >/dev/null
ref_img create -q -f qcow2 -b rbase.raw -F raw over.qcow2 4M
ref_img convert -c -O qcow2 base.qcow2 comp.qcow2

for f in base.qcow2 mid.qcow2 top.qcow2 over.qcow2; do
    img map "$f"
    img map --output=json "$f"
done

echo "== compressed"
img map comp.qcow2
img map --output=json comp.qcow2

echo "== ranges"
img map --start-offset=1000 mid.qcow2
img map --output=json --start-offset=1M --max-length=1M mid.qcow2
img map --output=json --start-offset=100 --max-length=1000 base.qcow2
img map --output=json --start-offset=600k --max-length=100k top.qcow2

echo "== broken chain"
ref_img create -q -f qcow2 -u -b nonexist.qcow2 -F qcow2 broken.qcow2 1M
img map broken.qcow2
img map -U --image-opts driver=qcow2,file.filename=top.qcow2
