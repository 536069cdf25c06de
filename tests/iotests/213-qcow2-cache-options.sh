#!/usr/bin/env bash
# qcow2's cache runtime options (--image-opts): sizes that do not parse,
# sizes that contradict each other, and good ones.
. "$(dirname "$0")/common.rc"
_require_format qcow2

ref_img create -q -f qcow2 c.qcow2 1M
for o in cache-size=x cache-size=99999999999E l2-cache-size=1x refcount-cache-size=-1 \
         l2-cache-entry-size=q cache-size=1M,l2-cache-size=2M \
         l2-cache-entry-size=100 l2-cache-size=1M,refcount-cache-size=64k \
         cache-size=2M,l2-cache-entry-size=4k; do
    echo "== $o"
    img info --image-opts driver=qcow2,file.filename=c.qcow2,$o | head -n 3
done
