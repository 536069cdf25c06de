#!/usr/bin/env bash
# amend: compat up and down (zero clusters become zeroes or holes), lazy
# refcounts on and off, size, errors; the bytes match the reference's.
. "$(dirname "$0")/common.rc"
_require_ref

am() {
    local create=$1 opts=$2 io=${3:-}
    rm -f a.qcow2
    "$REF_QEMU_IMG" create -q -f qcow2 $create a.qcow2 64M
    [ -n "$io" ] && "$REF_QEMU_IO" $io a.qcow2 >/dev/null
    echo "-- create '$create' io '$io' amend '$opts'"
    img amend -f qcow2 -o "$opts" a.qcow2
    _md5 a.qcow2
    ref_img check a.qcow2 | grep -v '^No errors'
}

img amend -f qcow2 -o help
"$REF_QEMU_IMG" create -q -f qcow2 base.qcow2 64M
am "" compat=0.10
am "" compat=v2
am "-o lazy_refcounts=on" compat=0.10
am "" compat=0.10 "-c write -z 0 64k"
am "" compat=0.10 "-c write -P 1 0 128k -c write -z 64k 64k"
am "-b base.qcow2 -F qcow2" compat=0.10 "-c write -z 0 64k"
am "-o compat=0.10" compat=1.1
am "" lazy_refcounts=on
am "-o lazy_refcounts=on" lazy_refcounts=off
am "-o compat=0.10" lazy_refcounts=on
am "" size=128M
am "" size=32M
am "" compat=1.2
am "-o extended_l2=on" compat=0.10
am "" data_file=x.raw
am "" cluster_size=4k
am "" refcount_bits=16
am "-b base.qcow2 -F qcow2" backing_fmt=raw
