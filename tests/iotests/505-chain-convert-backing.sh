#!/usr/bin/env bash
# convert -B BACKING -F FMT: the target gets the backing file and holds
# only what differs from it; relative and absolute names; a chain as the
# source; -B without -F; formats that cannot have a backing file; -n.
. "$(dirname "$0")/common.rc"
. "$(dirname "$0")/chain.rc"
_require_format qcow2

mkchain3
top=$(view top.qcow2)

echo "== onto the chain's own base"
img convert -O qcow2 -B base.raw -F raw top.qcow2 d1.qcow2
img info d1.qcow2 | grep -e '^backing' -e '^virtual'
[ "$(view d1.qcow2)" = "$top" ] && echo "d1 reads as top"
flagmap d1.qcow2
refcheck d1.qcow2

echo "== onto mid, relative name in another directory"
mkdir sub
img convert -O qcow2 -B ../mid.qcow2 -F qcow2 top.qcow2 sub/d2.qcow2
img info sub/d2.qcow2 | grep '^backing'
[ "$(view sub/d2.qcow2)" = "$top" ] && echo "d2 reads as top"
flagmap sub/d2.qcow2
img convert -O qcow2 -B "$TEST_DIR/mid.qcow2" -F qcow2 top.qcow2 d3.qcow2
img info d3.qcow2 | grep '^backing'
[ "$(view d3.qcow2)" = "$top" ] && echo "d3 reads as top"

echo "== onto an unrelated image"
ref_img create -q -f qcow2 other.qcow2 4M
ref_io -c 'write -P 1 0 2M' -c 'write -P 4 3200k 64k' other.qcow2 >/dev/null
img convert -O qcow2 -o cluster_size=4k -B other.qcow2 -F qcow2 top.qcow2 \
    d4.qcow2
[ "$(view d4.qcow2)" = "$top" ] && echo "d4 reads as top"
flagmap d4.qcow2
refcheck d4.qcow2
img convert -c -O qcow2 -B other.qcow2 -F qcow2 top.qcow2 d5.qcow2
[ "$(view d5.qcow2)" = "$top" ] && echo "d5 reads as top"
refcheck d5.qcow2

echo "== 10 deep source"
mkchain10
img convert -O qcow2 -B c4.qcow2 -F qcow2 c9.qcow2 d6.qcow2
[ "$(view d6.qcow2)" = "$(view c9.qcow2)" ] && echo "d6 reads as c9"
flagmap d6.qcow2
refcheck d6.qcow2

echo "== errors"
img convert -O qcow2 -B other.qcow2 top.qcow2 e1.qcow2
img convert -O raw -B other.qcow2 -F qcow2 top.qcow2 e2.raw
img convert -O qcow2 -B nonexist -F qcow2 top.qcow2 e3.qcow2
img convert -O qcow2 -B other.qcow2 -F raw top.qcow2 e4.qcow2
img info e4.qcow2 | grep '^backing'
img convert -O qcow2 -B other.qcow2 -F qcow2 -o backing_file=x top.qcow2 e5.qcow2
ref_img create -q -f qcow2 ex.qcow2 4M
img convert -n -O qcow2 -B other.qcow2 -F qcow2 top.qcow2 ex.qcow2
ls e1.qcow2 e2.raw e3.qcow2 e5.qcow2 2>/dev/null | wc -l
