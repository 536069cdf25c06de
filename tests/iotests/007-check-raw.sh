#!/usr/bin/env bash
# check on formats without a consistency check (exit 63), and the option
# errors, in the reference's order.
. "$(dirname "$0")/common.rc"

img create -q -f raw a.raw 1M

img check a.raw
img check -f raw a.raw
img check --output=json a.raw
img check -q a.raw
img check -U a.raw
img check -T none a.raw
img check -r leaks -f raw a.raw
img check -r all -f raw a.raw
img check -r all a.raw
img check --image-opts driver=raw,file.filename=a.raw
img check --object secret,id=s0,data=x -f raw a.raw

echo "== errors"
img check
img check a.raw b.raw
img check nonexist
img check -r foo a.raw
img check -r foo
img check -r
img check -T foo a.raw
img check -T foo nonexist
img check -T foo
img check --output=xml a.raw
img check --output=xml
img check -T foo --output=xml a.raw
img check --object foo -T foo --output=xml a.raw
img check --output=json -r all
img check -U -r all -f raw a.raw
img check -f nosuch a.raw
img check -x a.raw
