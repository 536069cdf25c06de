#!/usr/bin/env bash
# What the chain looks like: info --backing-chain (human and JSON), map
# with the depth and the file of each extent (human and JSON), compare
# through chains, convert of a whole chain into one flat image (qcow2 and
# raw, compressed), on the 3- and 10-deep chains with mixed formats.
. "$(dirname "$0")/common.rc"
. "$(dirname "$0")/chain.rc"
_require_format qcow2

mkchain3
echo "== info --backing-chain --output=json"
img info --backing-chain --output=json top.qcow2 | _filter_disk_size
echo "== map"
img map top.qcow2
img map --output=json top.qcow2
img map --output=json --start-offset=512k --max-length=3M top.qcow2
img map -f qcow2 mid.qcow2

echo "== compare through the chain"
ref_img convert -O raw top.qcow2 flat.raw
img compare top.qcow2 flat.raw
img compare -s top.qcow2 flat.raw
img compare mid.qcow2 top.qcow2
img compare -s mid.qcow2 flat.raw

echo "== convert of the chain to one image"
img convert -O qcow2 top.qcow2 flat.qcow2
img info flat.qcow2 | grep -e '^backing' -e '^virtual'
img compare flat.qcow2 flat.raw
flagmap flat.qcow2
refcheck flat.qcow2
img convert -O raw top.qcow2 flat2.raw
cmp flat.raw flat2.raw && echo "raw flat copy identical"
img convert -c -O qcow2 top.qcow2 flatc.qcow2
img compare flatc.qcow2 flat.raw
refcheck flatc.qcow2
img convert -p -O qcow2 -o cluster_size=4k top.qcow2 flat4k.qcow2
img compare flat4k.qcow2 flat.raw

mkchain10
echo "== 10 deep"
img map c9.qcow2
img map --output=json c9.qcow2
img info --backing-chain --output=json c9.qcow2 | grep -e '"filename"' \
    -e '"backing-filename"' -e '"full-backing-filename"' -e '"cluster-size"'
img convert -O qcow2 c9.qcow2 flat9.qcow2
[ "$(view flat9.qcow2)" = "$(view c9.qcow2)" ] && echo "flat copy reads the same"
flagmap flat9.qcow2
refcheck flat9.qcow2
img compare c9.qcow2 flat9.qcow2
img compare c5.qcow2 c9.qcow2
img compare -s c8.qcow2 c9.qcow2
