#!/usr/bin/env bash
# resize on raw: absolute and relative sizes, --shrink and its warning,
# preallocation modes, -q, probing warning, size and argument errors.
. "$(dirname "$0")/common.rc"

size() { stat -c %s "$1"; }

_random_file r.raw 1048576 13
img resize -f raw r.raw +1M; size r.raw
img resize -f raw r.raw -1M; size r.raw
img resize -f raw --shrink r.raw -1M; size r.raw
img resize -f raw r.raw 1000; size r.raw
img resize -f raw r.raw 1.5M; size r.raw
img resize -f raw --shrink r.raw 1000; size r.raw
img resize -f raw r.raw 1M; size r.raw
img resize -q -f raw r.raw +1M; size r.raw
img resize -f raw --shrink -- r.raw -1M; size r.raw
img resize -f raw r.raw -- -1M; size r.raw
img resize r.raw 2M; size r.raw
img resize ./r.raw --shrink 1M; size r.raw
img resize --image-opts driver=raw,file.filename=r.raw +64k; size r.raw
img resize --object secret,id=a,data=b -f raw r.raw 1M; size r.raw
md5sum r.raw | _filter

echo "== preallocation"
img resize -f raw --preallocation=full r.raw 2M; size r.raw
img resize -f raw --preallocation=falloc r.raw +1M; size r.raw
img resize -f raw --preallocation=off r.raw +1M; size r.raw
img resize -f raw --preallocation=metadata r.raw +1M; size r.raw
img resize -f raw --preallocation=full r.raw 1M; size r.raw
img resize -f raw --preallocation=full --shrink r.raw 4M; size r.raw
img resize -f raw --preallocation=foo r.raw 8M
img resize --preallocation=foo a b c
md5sum r.raw | _filter

echo "== sizes"
for s in 0 -4M -8M +8E 8E x +x '' + -; do
    img resize -f raw --shrink r.raw "$s"
done
size r.raw

echo "== errors"
img resize
img resize r.raw
img resize -f raw
img resize -f raw r.raw
img resize -f raw r.raw 1M 2M
img resize -f raw r.raw 1M --shrink
img resize r.raw 1M -x
img resize -x r.raw 1M
img resize nonexist 1M
img resize nonexist x
img resize -f nosuch r.raw 1M
img resize -U r.raw 1M
mkdir dir
img resize -f raw dir 1M
