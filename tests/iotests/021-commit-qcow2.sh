#!/usr/bin/env bash
# commit on qcow2 chains: into the backing file (top emptied), -d (top
# kept), -b to a base further down (implies -d), zero clusters, a raw base
# smaller than the top, a base that cannot be written, -b name matching.
# Host offsets depend on the allocator, so maps are shown without them.
. "$(dirname "$0")/common.rc"
_require_format qcow2

# Map entries merged by their flags alone: host offsets (and so where the
# allocator put clusters) do not show.
map() {
    img map --output=json "$@" | python3 -c 'import json, sys
out = []
for e in json.load(sys.stdin):
    k = (e["depth"], e["present"], e["zero"], e["data"])
    if out and out[-1][2] == k and out[-1][0] + out[-1][1] == e["start"]:
        out[-1][1] += e["length"]
    else:
        out.append([e["start"], e["length"], k])
for start, length, k in out:
    print(start, length, "depth=%d present=%s zero=%s data=%s" % k)'
}
readp() { ref_io -c "read -P $2 $3 $4" "$1" | grep -c "^read"; }
refcheck() { ref_img check "$1" | head -n 1; }

mkchain() {
    rm -f base.qcow2 mid.qcow2 top.qcow2
    ref_img create -q -f qcow2 base.qcow2 1M
    ref_io -c 'write -P 1 0 256k' base.qcow2 >/dev/null
    ref_img create -q -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2
    ref_io -c 'write -P 2 128k 64k' mid.qcow2 >/dev/null
    ref_img create -q -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2
    ref_io -c 'write -z 0 64k' -c 'write -P 0 64k 64k' \
        -c 'write -P 3 512k 64k' top.qcow2 >/dev/null
}

echo "== into the backing file"
mkchain
img commit top.qcow2
map top.qcow2
map mid.qcow2
readp top.qcow2 0 0 128k; readp top.qcow2 2 128k 64k
readp top.qcow2 1 192k 64k; readp top.qcow2 3 512k 64k
refcheck mid.qcow2; refcheck top.qcow2

echo "== -d"
mkchain
img commit -d -q top.qcow2
map top.qcow2
map mid.qcow2

echo "== -b base"
mkchain
img commit -b base.qcow2 top.qcow2
map top.qcow2
map base.qcow2
readp base.qcow2 2 128k 64k; readp base.qcow2 3 512k 64k
refcheck base.qcow2
mkchain
img commit -b mid.qcow2 top.qcow2
mkchain
img commit -b "$TEST_DIR/base.qcow2" -r 1G top.qcow2
mkdir sub
mv base.qcow2 mid.qcow2 top.qcow2 sub/
img commit -b base.qcow2 sub/top.qcow2
img commit -b sub/base.qcow2 sub/top.qcow2
img commit -b ./sub/base.qcow2 sub/top.qcow2
img commit -b top.qcow2 sub/top.qcow2
img commit -b nonexist sub/top.qcow2
img commit -p -b nonexist sub/top.qcow2

echo "== raw base smaller than the top"
ref_img create -q -f raw rb.raw 512k
ref_io -f raw -c 'write -P 1 0 256k' rb.raw >/dev/null
ref_img create -q -f qcow2 -b rb.raw -F raw t2.qcow2 1M
ref_io -c 'write -z 0 64k' -c 'write -P 7 768k 64k' t2.qcow2 >/dev/null
img commit t2.qcow2
stat -c %s rb.raw
readp rb.raw 0 0 64k; readp rb.raw 1 64k 192k; readp rb.raw 7 768k 64k

echo "== base that cannot be written"
mkchain
chattr +i mid.qcow2 2>/dev/null || _skip "chattr +i not supported here"
img commit top.qcow2
chattr -i mid.qcow2
chattr +i base.qcow2
img commit -b base.qcow2 top.qcow2
chattr -i base.qcow2
