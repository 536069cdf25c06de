#!/usr/bin/env bash
# create: -o lists and their help, size vs -o size, backing options on raw,
# -q, bad formats and paths, argument errors.
. "$(dirname "$0")/common.rc"

echo "== -o help"
img create -f raw -o help
img create -f raw -o '?'
img create -o help
img create -f raw -o help x.raw
img create -f raw -o size=1M,help x.raw
img create -f raw -o help x.raw 1x
img create -f file -o help
img create -f nosuch -o help
img create -f raw -o help -o foo
img create -f raw -o help,, x.raw
img create -f raw -o help nosuch:x.raw
ls x.raw 2>&1 | _filter

echo "== option lists"
img create -f raw -o '' x.raw 1M
img create -f raw -o 'size=1M,' x.raw
img create -f raw -o ',size=1M' x.raw
img create -f raw -o help -o '' x.raw
img create -f raw -o foo=bar x.raw 1M
img create -f raw -o a -o b x.raw 1M
img create -f raw -o size=1x x.raw
img create -f raw -o 'size=1M,,' x.raw
img create -f raw -o size=1M -o size=2M x.raw
stat -c %s x.raw
img create -f raw -o preallocation=foo y.raw 1M
img create -f raw -o preallocation=off z.raw 64k
img create -f raw -o preallocation=full z2.raw 64k
stat -c %s z2.raw

echo "== size given twice"
img create -f raw x.raw 1G -o size=2M
img create -f raw -o size=2M x.raw 1G

echo "== sizes"
for s in 0 512 0x100 1b 1B 1K 1.5M 2G 1.5 '' 1kiB 8E 9E 18E 99999999999999999999; do
    img create -f raw s.raw "$s"
done
stat -c %s s.raw

echo "== backing options on raw"
img create -q -f raw base.raw 1M
img create -f raw -b base.raw n.raw
img create -f raw -b base.raw -F raw n.raw 1M
img create -f raw -u -b base.raw -F raw n.raw 1M
img create -f raw -F raw n.raw 1M
img create -f raw -b '' n.raw 1M
img create -f raw -u n.raw 1M

echo "== quiet and default format"
img create -q q.raw 1M
img create q2.raw 1M -q
img create d.raw 1M
img info d.raw | _filter_disk_size

echo "== errors"
img create
img create -f raw
img create -f raw x.raw 1M 2M
img create -f raw x.raw 1x 2M
img create -f raw -- x.raw -1M
img create -f raw x.raw -- 1M
img create -f '' x.raw 1M
img create -f nosuch x.raw 1M
img create -f raw /nonexist/x.raw 1M
mkdir dir
img create -f raw dir 1M
img create -f raw x.raw -x
img create --bogus
img create -f raw e.raw
img create -f raw nosuch:x 1M
img create -f raw file:pf.raw 64k
stat -c %s pf.raw
