#!/usr/bin/env bash
# commit on chains: into the immediate backing file (the top is emptied),
# -d, -b BASE further down (implies -d, relative and absolute names), a
# base smaller than the top (grown), -p (first and last value: the steps
# between depend on timing), -r, -q, 3 and 10 deep with mixed formats and
# cluster sizes. Every image is then checked by the reference, and the
# guest views compared with what they must be.
. "$(dirname "$0")/common.rc"
. "$(dirname "$0")/chain.rc"
_require_format qcow2

# Progress lines reduced to the first and last value.
progress() {
    tr '\r' '\n' | sed -e 's/^ *//' | awk '
        /^\(/ { if (!first) first = $0; last = $0; next }
        NF { print }
        END { if (first) print "progress " first " ... " last }'
}

echo "== 3 deep: into mid"
mkchain3
top=$(view top.qcow2); mid=$(view mid.qcow2); base=$(view base.raw)
img commit top.qcow2
[ "$(view mid.qcow2)" = "$top" ] && echo "mid reads as top did"
[ "$(view top.qcow2)" = "$top" ] && echo "top reads the same"
[ "$(view base.raw)" = "$base" ] && echo "base unchanged"
flagmap top.qcow2
flagmap mid.qcow2
refcheck mid.qcow2; refcheck top.qcow2

echo "== 3 deep: -d"
mkchain3
img commit -d top.qcow2
[ "$(view mid.qcow2)" = "$top" ] && echo "mid reads as top did"
flagmap top.qcow2
refcheck mid.qcow2; refcheck top.qcow2

echo "== 3 deep: -b base.raw (implies -d)"
mkchain3
img commit -b base.raw top.qcow2
[ "$(view base.raw)" = "$top" ] && echo "base reads as top did"
[ "$(view top.qcow2)" = "$top" ] && echo "top reads the same"
flagmap top.qcow2
refcheck mid.qcow2; refcheck top.qcow2
mkchain3
img commit -b "$TEST_DIR/mid.qcow2" -q top.qcow2
[ "$(view mid.qcow2)" = "$top" ] && echo "mid reads as top did"
flagmap top.qcow2
mkchain3
img commit -b mid.qcow2 -d -q top.qcow2
img commit -b top.qcow2 top.qcow2
img commit -b other.raw top.qcow2
img commit -b base.raw mid.qcow2
[ "$(view base.raw)" = "$mid" ] && echo "base reads as mid did"

echo "== -p, -r"
mkchain3
img commit -p top.qcow2 | progress
[ "$(view mid.qcow2)" = "$top" ] && echo "mid reads as top did"
mkchain3
img commit -p -d -b base.raw top.qcow2 | progress
mkchain3
img commit -q -p top.qcow2 | progress
mkchain3
img commit -r 1M -d top.qcow2
[ "$(view mid.qcow2)" = "$top" ] && echo "mid reads as top did"
img commit -r -1 top.qcow2
img commit -r foo top.qcow2
img commit -r 0 -d top.qcow2

echo "== base smaller than the top"
ref_img create -q -f qcow2 -o cluster_size=512 small.qcow2 1M
ref_io -c 'write -P 1 0 1M' small.qcow2 >/dev/null
ref_img create -q -f qcow2 -b small.qcow2 -F qcow2 big.qcow2 3M
ref_io -c 'write -P 2 2M 512k' -c 'write -P 3 512k 4k' big.qcow2 >/dev/null
want=$(view big.qcow2)
img commit big.qcow2
img info small.qcow2 | grep '^virtual'
[ "$(view small.qcow2)" = "$want" ] && echo "small reads as big did"
[ "$(view big.qcow2)" = "$want" ] && echo "big reads the same"
refcheck small.qcow2; refcheck big.qcow2

echo "== 10 deep"
mkchain10
c9=$(view c9.qcow2); c2=$(view c2.qcow2)
img commit c9.qcow2
[ "$(view c8.qcow2)" = "$c9" ] && echo "c8 reads as c9 did"
flagmap c9.qcow2
refcheck c8.qcow2; refcheck c9.qcow2
mkchain10
img commit -b c3.qcow2 c9.qcow2
[ "$(view c3.qcow2)" = "$c9" ] && echo "c3 reads as c9 did"
[ "$(view c9.qcow2)" = "$c9" ] && echo "c9 reads the same"
for i in 3 4 5 6 7 8 9; do refcheck c$i.qcow2; done
mkchain10
img commit -b c0.raw c9.qcow2
[ "$(view c0.raw)" = "$c9" ] && echo "c0 reads as c9 did"
img commit -d c2.qcow2
[ "$(view c1.qcow2)" = "$c2" ] && echo "c1 reads as c2 did"
refcheck c1.qcow2; refcheck c2.qcow2

echo "== errors"
ref_img create -q -f qcow2 lone.qcow2 1M
img commit lone.qcow2
img commit -b lone.qcow2 lone.qcow2
img commit nonexist.qcow2
img commit
img commit -f raw c0.raw
img commit -t foo c9.qcow2
