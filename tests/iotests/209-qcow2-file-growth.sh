#!/usr/bin/env bash
# How a qcow2 image's files grow: create makes them empty and lets the
# structures and preallocation grow them (so an image larger than the file
# size limit can be made), an external data file follows the virtual size
# on resize, and growing a file past the limit (RLIMIT_FSIZE, EFBIG) fails
# with the reference's messages, removes what create made and leaves a
# resized image consistent.
. "$(dirname "$0")/common.rc"
_require_format qcow2
_require_ref

# The file size limit, in KiB; writes past it fail with EFBIG (the signal
# it would raise is ignored).
limited() {
    (trap '' XFSZ; ulimit -f "$1"; shift; "$@")
}

sizes() {
    for f in "$@"; do
        if [ -e "$f" ]; then
            echo "$f: $(stat -c %s "$f")"
        else
            echo "$f: missing"
        fi
    done
}

echo "== create under a 2 MiB file size limit"
for pa in off metadata falloc full; do
    echo "-- preallocation=$pa"
    rm -f c.qcow2
    limited 2048 img create -q -f qcow2 -o preallocation=$pa c.qcow2 10M
    sizes c.qcow2
    [ -e c.qcow2 ] && ref_img check c.qcow2
done
echo "-- cluster_size given"
limited 2048 img create -q -f qcow2 -o cluster_size=4k,preallocation=full \
    c.qcow2 10M
sizes c.qcow2
echo "-- data file"
rm -f c.qcow2 d.raw
limited 2048 img create -q -f qcow2 -o data_file=d.raw,preallocation=full \
    c.qcow2 10M
sizes c.qcow2 d.raw
limited 2048 img create -q -f qcow2 -o data_file=d.raw c.qcow2 10M
sizes c.qcow2 d.raw

echo "== resize under a 2 MiB file size limit"
for pa in off metadata falloc full; do
    echo "-- preallocation=$pa"
    rm -f r.qcow2
    ref_img create -q -f qcow2 r.qcow2 1M
    limited 2048 img resize --preallocation=$pa r.qcow2 +10M
    sizes r.qcow2
    ref_img info r.qcow2 | grep '^virtual size'
    ref_img check r.qcow2 | grep -v '^ERROR' | sort | uniq -c
done
echo "-- data file"
for pa in off metadata falloc; do
    rm -f r.qcow2 d.raw
    ref_img create -q -f qcow2 -o data_file=d.raw r.qcow2 1M
    limited 4096 img resize --preallocation=$pa r.qcow2 +10M
    sizes r.qcow2 d.raw
    ref_img info r.qcow2 | grep '^virtual size'
done

echo "== an external data file follows the virtual size"
for raw in off on; do
    for args in "+10M" "--shrink 5M" "--preallocation=metadata +10M" \
                "--preallocation=falloc +10M" "--preallocation=full +10M"; do
        echo "-- data_file_raw=$raw resize $args"
        rm -f r.qcow2 d.raw
        img create -q -f qcow2 -o data_file=d.raw,data_file_raw=$raw \
            r.qcow2 10M
        sizes d.raw
        img resize -q r.qcow2 $args
        sizes r.qcow2 d.raw
        echo "d.raw allocated: $(( $(stat -c %b d.raw) * 512 / 1048576 )) MiB"
        ref_img check r.qcow2
    done
done

echo "== sizes that end inside a cluster: files end at a cluster boundary"
for pa in off metadata falloc; do
    echo "-- preallocation=$pa"
    rm -f e.qcow2 r.qcow2 d.raw
    img create -q -f qcow2 -o preallocation=$pa e.qcow2 1000k
    sizes e.qcow2
    _md5 e.qcow2
    img create -q -f qcow2 \
        -o data_file=d.raw,data_file_raw=on,preallocation=$pa r.qcow2 1000k
    sizes d.raw
done
for raw in off on; do
    echo "-- data_file_raw=$raw: grow to 3001k, shrink to 1501k"
    rm -f r.qcow2 d.raw
    img create -q -f qcow2 -o data_file=d.raw,data_file_raw=$raw r.qcow2 1000k
    img resize -q r.qcow2 3001k
    sizes d.raw
    img resize -q --shrink r.qcow2 1501k
    sizes d.raw
    _md5 r.qcow2
done
echo "-- resize --preallocation=metadata to 3001k; 4 KiB clusters"
rm -f e.qcow2
img create -q -f qcow2 e.qcow2 1000k
img resize -q --preallocation=metadata e.qcow2 3001k
sizes e.qcow2
_md5 e.qcow2
img create -q -f qcow2 -o cluster_size=4k,preallocation=metadata e.qcow2 1001k
sizes e.qcow2
_md5 e.qcow2
ref_img check e.qcow2
echo "-- extended L2: the end of the last subcluster"
for sz in 1000k 1024512; do
    img create -q -f qcow2 -o extended_l2=on,cluster_size=32k \
        -o preallocation=metadata e.qcow2 $sz
    sizes e.qcow2
    _md5 e.qcow2
done
