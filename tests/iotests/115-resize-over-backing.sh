#!/usr/bin/env bash
# Growing an overlay whose backing file is longer than its old size: the
# new area reads as zeroes, not as the backing file's data (a partial
# cluster at the old end is written by copy-on-write, the rest become zero
# clusters), byte for byte as the reference.
. "$(dirname "$0")/common.rc"
_require_format qcow2

ref_img create -q -f qcow2 base.qcow2 10M
ref_io -c 'write -P 1 0 10M' base.qcow2 > /dev/null
for old in 5000k 4M; do
    rm -f o.qcow2
    ref_img create -q -f qcow2 -b base.qcow2 -F qcow2 o.qcow2 $old
    img resize o.qcow2 20M
    ref_img map --output=json o.qcow2
    ref_io -c "read -P 0 $old 1M" o.qcow2 | head -n 1
    echo "$(md5sum < o.qcow2)"
done
echo "== a backing file no longer than the old size: nothing to zero"
ref_img create -q -f qcow2 -b base.qcow2 -F qcow2 o2.qcow2 10M
img resize o2.qcow2 12M
ref_img map --output=json o2.qcow2
