#!/usr/bin/env bash
# create -f raw: sizes, rounding to 512, suffixes and bad sizes.
. "$(dirname "$0")/common.rc"

img create -f raw a.raw 1M
stat -c '%s' a.raw
img create -f raw b.raw 1000
stat -c '%s' b.raw
img create -f raw c.raw 1.5k
stat -c '%s' c.raw
img create -q -f raw d.raw 64K
stat -c '%s' d.raw
img create -f raw e.raw 1x
img create -f raw e.raw -5
img create -f raw e.raw
img create -f raw
img create -f raw -o size=2M f.raw
stat -c '%s' f.raw
img create -f raw -o help
img create -f nosuchfmt g.raw 1M
