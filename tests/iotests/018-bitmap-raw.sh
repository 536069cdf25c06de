#!/usr/bin/env bash
# bitmap on raw (no persistent bitmaps) and the argument rules, checked in
# the reference's order before the image is opened.
. "$(dirname "$0")/common.rc"

# Nodes have automatic names whose number depends on what was opened.
_filter_node() { sed -e 's/#block[0-9]*/#blockNNN/'; }

img create -q -f raw a.raw 1M
img create -q -f raw src.raw 1M

img bitmap --add a.raw b | _filter_node
img bitmap --add -f raw a.raw b | _filter_node
for act in --remove --clear --enable --disable "--merge x" \
           "--merge x -b src.raw" "--merge x -b src.raw -F raw"; do
    img bitmap $act -f raw a.raw b
done
img bitmap --add --remove -f raw a.raw b | _filter_node
img bitmap --remove --add -f raw a.raw b
img bitmap --add -g 4G -f raw a.raw x
img bitmap --add -g 3k -f raw a.raw x
img bitmap --add -g 256 -f raw a.raw x
img bitmap --add -g 0 -f raw a.raw x | _filter_node
img bitmap --add -g 64k -f raw a.raw x | _filter_node
img bitmap --add --image-opts driver=raw,file.filename=a.raw y | _filter_node
img bitmap --add -f raw a.raw '' | _filter_node

echo "== argument errors"
img bitmap
img bitmap a.raw b
img bitmap --add
img bitmap --add a.raw
img bitmap --add a.raw b c
img bitmap --merge
img bitmap -b src.raw --add a.raw y
img bitmap -g 64k --remove a.raw y
img bitmap -F raw --remove a.raw y
img bitmap -F raw -b src.raw --remove a.raw y
img bitmap --add -g x a.raw y
img bitmap --add -g 8E a.raw y
img bitmap --add -g -1 a.raw y
img bitmap --add --image-opts -f raw a.raw y
img bitmap --add nonexist y
img bitmap --merge x -b nonexist -f raw a.raw y
img bitmap --enable -U a.raw y
img bitmap --add -q a.raw y
img bitmap --add -p a.raw y
img bitmap --add --object foo a.raw y
