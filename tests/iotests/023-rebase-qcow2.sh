#!/usr/bin/env bash
# rebase on qcow2: safe mode copies what differs between the old and the
# new backing file (so the image reads the same), -b '' flattens, -u only
# renames; relative names, smaller backing files, missing backing files.
. "$(dirname "$0")/common.rc"
_require_format qcow2

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
backing() { img info "$1" | grep '^backing'; }

mk() {
    rm -f b1.qcow2 b2.qcow2 t.qcow2
    ref_img create -q -f qcow2 b1.qcow2 1M
    ref_io -c 'write -P 1 0 256k' b1.qcow2 >/dev/null
    ref_img create -q -f qcow2 b2.qcow2 1M
    ref_io -c 'write -P 1 0 64k' -c 'write -P 2 64k 64k' b2.qcow2 >/dev/null
    ref_img create -q -f qcow2 -b b1.qcow2 -F qcow2 t.qcow2
    ref_io -c 'write -P 9 192k 64k' t.qcow2 >/dev/null
}

echo "== safe rebase onto another image"
mk
img rebase -b b2.qcow2 -F qcow2 t.qcow2
backing t.qcow2
map t.qcow2
readp t.qcow2 1 0 128k; readp t.qcow2 1 128k 64k; readp t.qcow2 9 192k 64k
readp t.qcow2 0 256k 768k

echo "== without -F: data copied, name not changed"
mk
img rebase -b b2.qcow2 t.qcow2
backing t.qcow2

echo "== flatten"
mk
img rebase -b '' t.qcow2
backing t.qcow2
map t.qcow2
readp t.qcow2 1 0 192k; readp t.qcow2 9 192k 64k

echo "== unsafe"
mk
img rebase -u -b b2.qcow2 -F qcow2 t.qcow2
backing t.qcow2
map t.qcow2
img rebase -u -b nonexist -F qcow2 t.qcow2
backing t.qcow2
img rebase -b b1.qcow2 -F qcow2 t.qcow2
img rebase -u -b b1.qcow2 -F raw t.qcow2
backing t.qcow2
img rebase -u t.qcow2
backing t.qcow2
img rebase -u -b b1.qcow2 t.qcow2
img rebase -U -u -b b1.qcow2 -F qcow2 t.qcow2
backing t.qcow2

echo "== relative names and a smaller new backing file"
mk
mkdir sub
ref_img create -q -f qcow2 sub/small.qcow2 128k
ref_io -c 'write -P 1 0 128k' sub/small.qcow2 >/dev/null
mv t.qcow2 b1.qcow2 sub/
img rebase -b small.qcow2 -F qcow2 sub/t.qcow2
backing sub/t.qcow2
readp sub/t.qcow2 1 0 192k; readp sub/t.qcow2 9 192k 64k
readp sub/t.qcow2 0 256k 768k
img rebase -b sub/small.qcow2 -F qcow2 sub/t.qcow2

echo "== progress and quiet"
mk
img rebase -p -b b2.qcow2 -F qcow2 t.qcow2
img rebase -q -p -b b1.qcow2 -F qcow2 t.qcow2
readp t.qcow2 1 0 192k

echo "== errors"
img rebase -b nonexist -F qcow2 t.qcow2
img rebase -b b1.qcow2 -F foo t.qcow2
img rebase -T x -b b1.qcow2 t.qcow2
mv b1.qcow2 gone.qcow2
img rebase -b b2.qcow2 -F qcow2 t.qcow2
img rebase -u -b gone.qcow2 -F qcow2 t.qcow2
ref_img check t.qcow2 | head -n 1
