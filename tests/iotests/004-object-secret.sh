#!/usr/bin/env bash
# --object: secrets given inline or from a file, and every way to get one
# wrong. Objects are checked as they are parsed, before the file name.
. "$(dirname "$0")/common.rc"

img create -q -f raw a.raw 1M
printf 'sekrit' > pw.txt
mkdir dir

for o in "secret,id=s0,data=abc" "secret,id=s0" "secret" "secret,data=x" \
         "secret,id=s0,data=x,file=pw.txt" "secret,id=s0,file=pw.txt" \
         "secret,id=s0,file=nonexist" "secret,id=s0,file=dir" \
         "secret,id=s0,file=" "secret,id=s0,data=YWJj,format=base64" \
         "secret,id=s0,data=x,format=raw" "secret,id=s0,data=x,format=foo" \
         "secret,id=s0,data=x,bogus=1" "qom-type=secret,id=s0,data=x" \
         "secret,qom-type=secret,id=s0,data=x" "foo" "" "id=x" \
         "secret,id=0a,data=x" "secret,id=,data=x" "secret,id=a-b.c_d,data=x" \
         "secret,id=s0,data=x,keyid=k" "secret,id=s0,data=x,loaded=on" \
         "secret,id=s0,data=abc,flag" "secret,id=s0,data=a,,b" \
         "secret,,id=s0" "secret,id=s0,data=" "secret,id=s0,data=x,a.b=1" \
         "secret id=s0" "qom-type=help" "secret,help=on" \
         "secret,id=x,help" "secret,help" "secret,help,id" "help,foo" \
         "secret,?" "secret,id=a,,b,help" "qom-type=secret,help" \
         "secret,id=s0,file=a.raw,format=base64" "secret,id=s,data=a,," \
         "secret,id=s,data=a,,,help"; do
    echo "-- $o"
    img info --object "$o" a.raw | _filter_disk_size
done

echo "== duplicates and order"
img info --object secret,id=s0,data=x --object secret,id=s0,data=y a.raw
img info --object secret,id=s0,data=x --object secret,id=s1,data=y a.raw | _filter_disk_size
img info --object foo
img info --object secret,id=a,data=b --object secret,id=a,data=b
img create --object foo
img create -o '' --object foo
img info --object secret,id=s0,data=x nonexist.raw
img check --object secret,id=s0 a.raw
img measure --size 1M --object secret,id=s,data=x
img resize --object secret,id=a,data=b -f raw a.raw 2M
