#!/usr/bin/env bash
# snapshot on raw (no internal snapshots): list is empty, the rest fail
# with the reference's messages; the argument errors.
. "$(dirname "$0")/common.rc"

img create -q -f raw r.raw 1M

img snapshot r.raw
img snapshot -l r.raw
img snapshot -l -U r.raw
img snapshot -c x r.raw
img snapshot -d x r.raw
img snapshot -q -c x r.raw
img snapshot --image-opts -l driver=raw,file.filename=r.raw
img snapshot --image-opts -c x driver=raw,file.filename=r.raw
img snapshot --image-opts -d x driver=raw,file.filename=r.raw
img snapshot -c x -U r.raw

echo "== errors"
img snapshot
img snapshot -l
img snapshot -l r.raw r.raw
img snapshot -l -c x r.raw
img snapshot -c x -l r.raw
img snapshot -c x -a y r.raw
img snapshot -d x -d y r.raw
img snapshot -f raw -l r.raw
img snapshot -c
img snapshot -l nonexist
img snapshot -c x nonexist
