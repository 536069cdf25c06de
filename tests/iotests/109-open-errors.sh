#!/usr/bin/env bash
# Open errors the four commands pass on from the block layer: an
# --image-opts string that is a bare file name, and an empty file name.
. "$(dirname "$0")/common.rc"

_random_file a.raw 65536 109
img compare --image-opts a.raw a.raw
img convert --image-opts a.raw o.raw
img bench -c 1 --image-opts a.raw
img dd --image-opts if=a.raw of=o.raw
img dd if= of=o.raw
img convert "" o.raw
img compare "" a.raw
img bench -c 1 ""
