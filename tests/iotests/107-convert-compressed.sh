#!/usr/bin/env bash
# convert -c writes whole target clusters, as the reference does: a data
# run that starts or ends inside a cluster is copied as its whole cluster,
# a cluster may span two sources, only the image's last cluster may be
# partial; all-zero clusters are skipped unless -S 0. The targets are
# judged by the reference's map and check, and by their bytes. Also the
# options that cannot go with -c, refused before the target is created.
. "$(dirname "$0")/common.rc"
_require_format qcow2
_require_ref

# Sources: raw with short data runs, written zeroes and an odd tail; an
# odd-sized one; one with zero blocks inside data; qcow2 with data, zero
# and unallocated clusters; small ones to concatenate.
truncate -s 1M s1.raw
io -f raw -c 'write -P 1 1000 4000' -c 'write -P 2 70000 100' \
    -c 'write -z 200k 100k' -c 'write -P 3 1048476 100' s1.raw >/dev/null
truncate -s 1000000 s2.raw
io -f raw -c 'write -P 4 0 512' -c 'write -P 5 999000 1000' s2.raw >/dev/null
truncate -s 3M s3.raw
io -f raw -c 'write -P 6 0 3M' -c 'write -P 0 64k 64k' -c 'write -P 0 1M 4k' \
    -c 'write -P 0 2M 1M' s3.raw >/dev/null
img create -q -f qcow2 -o cluster_size=4k s4.qcow2 3M
io -c 'write -P 7 4k 4k' -c 'write -z 8k 8k' -c 'write -P 8 100k 2k' \
    -c 'write -z -u 1M 64k' -c 'write -P 9 2M 512' s4.qcow2 >/dev/null
truncate -s 100k s5.raw
io -f raw -c 'write -P 10 0 100k' s5.raw >/dev/null
truncate -s 3000 s6.raw
io -f raw -c 'write -P 11 0 3000' s6.raw >/dev/null
img create -q -f qcow2 -o cluster_size=4k base.qcow2 4M
io -c 'write -P 12 0 4M' base.qcow2 >/dev/null
img create -q -f qcow2 -o cluster_size=4k -b base.qcow2 -F qcow2 ov.qcow2
io -c 'write -P 13 6000 10000' -c 'write -z 1M 1M' -c 'write -P 14 3M 100' \
    ov.qcow2 >/dev/null

# conv ARGS...: convert -c into t.qcow2, then what the reference sees.
conv() {
    rm -f t.qcow2
    echo "-- convert -c $*"
    img convert -c -O qcow2 "$@" t.qcow2
    ref_img map --output=json t.qcow2
    ref_img check t.qcow2 | grep -v '^No errors'
    _md5 t.qcow2
}

for cs in 4k 64k 2M; do
    echo "== cluster_size=$cs"
    for src in s1.raw s2.raw s3.raw s4.qcow2 "s5.raw s6.raw" \
               "s6.raw s5.raw s1.raw"; do
        # shellcheck disable=SC2086
        conv -o cluster_size=$cs $src
    done
done

echo "== -S"
conv -S 0 s1.raw
conv -S 0 -o cluster_size=4k s4.qcow2
conv -S 0 s6.raw s5.raw s1.raw
conv -S 64k s3.raw
conv -S 1M -o cluster_size=4k s3.raw

echo "== backing files"
conv ov.qcow2
conv -o cluster_size=64k ov.qcow2
conv -B base.qcow2 -F qcow2 ov.qcow2
conv -o cluster_size=64k -B base.qcow2 -F qcow2 ov.qcow2
conv -o cluster_size=64k -B base.qcow2 -F qcow2 -S 0 ov.qcow2

echo "== -n: a partial cluster that is not the image's last is refused"
img create -q -f qcow2 -o cluster_size=4k n.qcow2 1M
img convert -c -n -O qcow2 s2.raw n.qcow2
ref_img map --output=json n.qcow2

echo "== options that cannot go with -c"
img create -q -f raw r.raw 1M
for o in preallocation=metadata preallocation=full preallocation=bogus \
         preallocation=off,preallocation=falloc encryption=on \
         encrypt.format=luks encrypt.format= encryption=off,encrypt.format=luks; do
    rm -f t.qcow2
    img convert -c -O qcow2 -o "$o" r.raw t.qcow2
    ls t.qcow2 2>/dev/null || echo "t.qcow2 not created"
done
img convert -c -O qcow2 -o preallocation=full -B r.raw r.raw t.qcow2
img convert -c -O raw -o preallocation=full r.raw t.raw
img convert -c -O qcow2 -o preallocation=off r.raw t.qcow2
ref_img map --output=json t.qcow2
