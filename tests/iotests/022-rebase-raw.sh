#!/usr/bin/env bash
# rebase on raw images (no backing file to change) and the argument rules.
. "$(dirname "$0")/common.rc"

img create -q -f raw a.raw 1M
img create -q -f raw b.raw 1M

img rebase -b '' a.raw
img rebase -f raw -b '' a.raw
img rebase -u -f raw -b '' a.raw
img rebase -u -f raw a.raw
img rebase -f raw -b b.raw -F raw a.raw
img rebase -u -f raw -b b.raw -F raw a.raw
img rebase -u -f raw -b b.raw a.raw
img rebase -f raw -b b.raw a.raw
img rebase -p -f raw -b '' a.raw
img rebase -q -f raw -b '' a.raw
img rebase -U -f raw -b '' a.raw
img rebase -f raw -b nonexist -F raw a.raw
img rebase --image-opts -u -b '' driver=raw,file.filename=a.raw

echo "== errors"
img rebase
img rebase a.raw
img rebase -b b.raw
img rebase -b b.raw a.raw b.raw
img rebase -u
img rebase -u -b b.raw -F foo a.raw
img rebase -b b.raw -F foo a.raw
img rebase -b b.raw -F foo nonexist
img rebase -t x -b b.raw a.raw
img rebase -T x -b b.raw a.raw
img rebase -t x -T x -b b.raw a.raw
img rebase -t x -b b.raw nonexist
img rebase -b b.raw -F raw nonexist
img rebase -f nosuch -b b.raw a.raw
img rebase --image-opts -f raw -b b.raw a.raw
img rebase -x -b b.raw a.raw
img rebase -b
