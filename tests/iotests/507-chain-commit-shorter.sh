#!/usr/bin/env bash
# commit through layers of different lengths: past the end of a middle
# layer shorter than the top, that layer defines zeroes, and committing
# further down (-b) writes them into the base (which is grown first), as
# the reference does; where the middle layer ends, nothing below shows.
. "$(dirname "$0")/common.rc"
. "$(dirname "$0")/chain.rc"
_require_format qcow2

mk() {
    rm -f base.qcow2 mid.qcow2 top.qcow2
    "$REF_QEMU_IMG" create -q -f qcow2 -o cluster_size=4k base.qcow2 8M
    "$REF_QEMU_IO" -c 'write -P 1 0 6M' base.qcow2 >/dev/null
    "$REF_QEMU_IMG" create -q -f qcow2 -o cluster_size=128k \
        -b base.qcow2 -F qcow2 mid.qcow2 6M
    "$REF_QEMU_IO" -c 'write -P 2 1000k 300k' mid.qcow2 >/dev/null
    "$REF_QEMU_IMG" create -q -f qcow2 -o cluster_size=16k \
        -b mid.qcow2 -F qcow2 top.qcow2 12M
    "$REF_QEMU_IO" -c 'write -P 3 5000k 40k' -c 'write -P 4 9M 1M' \
        -c 'write -z 100k 200k' top.qcow2 >/dev/null
}

echo "== -b base: zeroes past the middle layer's end"
mk
top=$(view top.qcow2)
img commit -b base.qcow2 top.qcow2
[ "$(view base.qcow2)" = "$top" ] && echo "base reads as top did"
[ "$(view top.qcow2)" = "$top" ] && echo "top reads the same"
flagmap base.qcow2
refcheck base.qcow2

echo "== into mid: grown, nothing below shows past its old end"
mk
img commit top.qcow2
[ "$(view mid.qcow2)" = "$top" ] && echo "mid reads as top did"
[ "$(view top.qcow2)" = "$top" ] && echo "top reads the same"
flagmap mid.qcow2
refcheck mid.qcow2; refcheck top.qcow2
