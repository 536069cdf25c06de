#!/usr/bin/env bash
# commit on raw images (no backing file) and the argument errors.
. "$(dirname "$0")/common.rc"

img create -q -f raw a.raw 1M

img commit a.raw
img commit -f raw a.raw
img commit -d -f raw a.raw
img commit -q -f raw a.raw
img commit -p -f raw a.raw
img commit -b a.raw -f raw a.raw
img commit -b nonexist -f raw a.raw
img commit -p -b nonexist -f raw a.raw
img commit -r 1M -f raw a.raw
img commit -t none -f raw a.raw
img commit --image-opts driver=raw,file.filename=a.raw

echo "== errors"
img commit
img commit a.raw b.raw
img commit nonexist
img commit -r x a.raw
img commit -r -1 a.raw
img commit -r 8E a.raw
img commit -r x nonexist
img commit -t foo a.raw
img commit -t foo nonexist
img commit -t x -r x nonexist
img commit -f nosuch a.raw
img commit -U a.raw
img commit -b
img commit --image-opts -f raw driver=raw,file.filename=a.raw
