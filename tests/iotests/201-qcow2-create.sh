#!/usr/bin/env bash
# create -f qcow2: every option, the Formatting line, errors, and the bytes
# of the image (a checksum: our layout is the reference's, cluster for
# cluster, for every cluster size, refcount width and preallocation).
. "$(dirname "$0")/common.rc"

mk() {
    local name=$1; shift
    img create -f qcow2 "$@" "$name"
    [ -f "$name" ] && _md5 "$name"
    rm -f "$name"
}

mk a.qcow2 64M
mk a.qcow2 1G
mk a.qcow2 -o compat=0.10 1G
mk a.qcow2 -o compat=v3,lazy_refcounts=on 1G
for cs in 512 1k 4k 8k 64k 512k 2M; do
    mk a.qcow2 -o cluster_size=$cs 100M
done
for rb in 1 2 4 8 16 32 64; do
    mk a.qcow2 -o refcount_bits=$rb 100M
done
mk a.qcow2 -o extended_l2=on 1G
mk a.qcow2 -o extended_l2=on,cluster_size=16k 1G
mk a.qcow2 -o compression_type=zstd 1G
for p in off metadata falloc full; do
    mk a.qcow2 -o preallocation=$p 40M
done
# Big images: the L1 table spans many clusters, refcount blocks and the
# refcount table grow while it is allocated.
mk a.qcow2 -o cluster_size=512 10G
mk a.qcow2 -o cluster_size=512,refcount_bits=64 100G
mk a.qcow2 -o preallocation=metadata,cluster_size=512,refcount_bits=64 20M
mk a.qcow2 -o preallocation=metadata,cluster_size=512 9M
mk a.qcow2 -o preallocation=falloc,cluster_size=512,refcount_bits=64 10M
mk a.qcow2 10T

# Backing files (the name goes after the extensions in cluster 0).
img create -f qcow2 base.qcow2 64M
mk a.qcow2 -b base.qcow2 -F qcow2
mk a.qcow2 -b base.qcow2 -F qcow2 -o compat=0.10
mk a.qcow2 -b base.qcow2 -F qcow2 128M
mk a.qcow2 -b base.qcow2 -F qcow2 -o cluster_size=4k

# External data files.
mk a.qcow2 -o data_file=a.data 64M
_md5 a.data
mk a.qcow2 -o data_file=a.data,data_file_raw=on 4M
_md5 a.data
rm -f a.data

# Bad options.
img create -f qcow2 -o cluster_size=1000 a.qcow2 1M
img create -f qcow2 -o cluster_size=4M a.qcow2 1M
img create -f qcow2 -o refcount_bits=3 a.qcow2 1M
img create -f qcow2 -o refcount_bits=128 a.qcow2 1M
img create -f qcow2 -o compat=0.10,lazy_refcounts=on a.qcow2 1M
img create -f qcow2 -o compat=0.10,refcount_bits=8 a.qcow2 1M
img create -f qcow2 -o compat=0.10,extended_l2=on a.qcow2 1M
img create -f qcow2 -o extended_l2=on,cluster_size=4k a.qcow2 1M
img create -f qcow2 -o compat=1.2 a.qcow2 1M
img create -f qcow2 -o preallocation=sparse a.qcow2 1M
img create -f qcow2 -o compression_type=lzo a.qcow2 1M
img create -f qcow2 -o data_file_raw=on a.qcow2 1M
img create -f qcow2 -o help
