#!/usr/bin/env bash
# Growing a qcow2 image: the new area reads as zeros even where the backing
# file reaches past the old end (zero clusters, the cut cluster rewritten
# with its old guest bytes), v2 images refuse it; falloc/full preallocation
# from a size that ends inside a cluster preallocates that cluster too,
# keeping its guest bytes; metadata preallocation gives the new area zero
# flags. Layouts as the reference's.
. "$(dirname "$0")/common.rc"
_require_format qcow2
_require_ref

"$REF_QEMU_IMG" create -q -f raw b4.raw 4M
"$REF_QEMU_IO" -f raw -c 'write -P 9 0 4M' b4.raw > /dev/null

show() {
    img check "$1" | grep -v '^No errors'
    "$REF_QEMU_IMG" map --output=json "$1"
    "$REF_QEMU_IMG" convert -O raw "$1" "$1.raw"
    _md5 "$1" "$1.raw"
    rm -f "$1.raw"
}

for o in compat=1.1 extended_l2=on cluster_size=4k compat=0.10; do
    for bsz in 512k 1536k; do
        for start in 1M 1000k 1001k; do
            echo "== -o $o, backing file $bsz, $start + 1M"
            rm -f b.raw a.qcow2
            "$REF_QEMU_IMG" create -q -f raw b.raw $bsz
            "$REF_QEMU_IO" -f raw -c "write -P 9 0 $bsz" b.raw > /dev/null
            "$REF_QEMU_IMG" create -q -f qcow2 -b b.raw -F raw -o $o \
                a.qcow2 $start
            "$REF_QEMU_IO" -c 'write -P 3 900k 50k' a.qcow2 > /dev/null
            img resize -q a.qcow2 +1M
            show a.qcow2
        done
    done
done

for pa in falloc full; do
    for setup in none data compressed zero backing; do
        echo "== --preallocation=$pa from 1000k, last cluster: $setup"
        rm -f a.qcow2
        if [ $setup = backing ]; then
            "$REF_QEMU_IMG" create -q -f qcow2 -b b4.raw -F raw a.qcow2 1000k
        else
            "$REF_QEMU_IMG" create -q -f qcow2 a.qcow2 1000k
        fi
        case $setup in
        data) "$REF_QEMU_IO" -c 'write -P 5 970k 4k' a.qcow2 > /dev/null ;;
        compressed)
            "$REF_QEMU_IO" -c 'write -c -P 5 960k 40k' a.qcow2 > /dev/null ;;
        zero) "$REF_QEMU_IO" -c 'write -z 960k 40k' a.qcow2 > /dev/null ;;
        esac
        img resize -q --preallocation=$pa a.qcow2 +1025k
        show a.qcow2
    done
done

for el in off on; do
    for start in 1M 1000k; do
        echo "== --preallocation=metadata, extended_l2=$el, $start to 2M"
        rm -f a.qcow2
        "$REF_QEMU_IMG" create -q -f qcow2 -b b4.raw -F raw \
            -o extended_l2=$el a.qcow2 $start
        img resize -q --preallocation=metadata a.qcow2 2M
        "$REF_QEMU_IMG" map --output=json a.qcow2
        "$REF_QEMU_IMG" convert -O raw a.qcow2 a.raw
        _md5 a.raw
        _md5 a.qcow2
        img check a.qcow2 | grep -v '^No errors'
    done
done
