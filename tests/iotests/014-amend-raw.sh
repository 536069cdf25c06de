#!/usr/bin/env bash
# amend with formats that cannot amend (raw), "-o help" with and without
# an image, and the argument errors.
. "$(dirname "$0")/common.rc"

img create -q -f raw a.raw 1M

img amend -f raw -o size=2M a.raw
img amend -o size=2M a.raw
img amend -o help a.raw
img amend -f raw -o help
img amend -f raw -o help a.raw
img amend -f nosuch -o help
img amend -f nosuch -o size=1M a.raw
img amend -q -f raw -o size=1M a.raw
img amend -p -f raw -o size=1M a.raw
img amend --force -f raw -o size=1M a.raw
img amend --image-opts -o size=1M driver=raw,file.filename=a.raw

echo "== errors"
img amend
img amend a.raw
img amend -o help
img amend -o ''
img amend -o '' a.raw
img amend -o size=1M
img amend -o size=1M a.raw b.raw
img amend -t foo -o size=1M a.raw
img amend -t foo -o size=1M nonexist
img amend -o size=1M nonexist
img amend -o help nonexist
img amend --image-opts -f raw -o size=1M a.raw
img amend -x -o size=1M a.raw
img amend -o
