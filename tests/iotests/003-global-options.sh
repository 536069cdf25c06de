#!/usr/bin/env bash
# The command line before the command: -h, -V, -T, unknown commands and
# options, missing arguments; and the usage errors every command shares.
. "$(dirname "$0")/common.rc"

echo "== help and version (the wording is ours; the interface is not)"
for h in -h --help --he "-h info" "info -h" "create --help" "-h -V" "-h=x"; do
    $QEMU_IMG $h >/dev/null 2>&1
    echo "$h: rc=$?"
done
# The command syntax lines are interface: they must be the reference's.
$QEMU_IMG --help | grep -E '^  (amend|bench|bitmap|check|commit|compare|convert|create|dd|info|map|measure|snapshot|rebase|resize) '
$QEMU_IMG --help | grep -c '^Supported formats: .*\<raw\>'
for v in -V --version --vers "-V info" "-V bogus" "-V -h"; do
    $QEMU_IMG $v | head -n 1 | grep -c '^qemu-img version 7\.2\.'
done

echo "== bad global options"
img
img -x
img --foo
img -q
img '-?'
img --help=x
img --version=1
img -T
img --trace
img --tr

echo "== -T: accepted; no trace events exist"
img -T foo
img -Tfoo
img --trace=x info
img --t=x
img -T 'foo*'
img -T enable=foo
img -T file=/dev/null
img -T events=/dev/null
img -T ''
img create -q -f raw tr.raw 1M
printf 'foo\n# comment\n\nbar*\n-baz\n' > ev.txt
mkdir evdir
for t in 'enable=' 'events=/nonexist' 'events=' 'events=ev.txt' 'events=evdir' \
         'foo,bar' 'foo,nobar=on' 'bogus=1' 'enable=qux,events=ev.txt' \
         'events=ev.txt,enable=qux' '-foo' 'foo[' ',' 'enable=a,enable=b' \
         'file=/nonexist/x' 'file=' \
         'file=/nonexist/x,events=/nonexist' 'file=log1'; do
    echo "-- -T '$t'"
    img -T "$t" info -f raw tr.raw | _filter_disk_size
done
ls log1
echo "-- the last -T's log file counts, and only once a command is given"
img -T file=/nonexist/x -T foo info -f raw tr.raw | _filter_disk_size
img -T file=log2 -T file=/nonexist/x info -f raw tr.raw | _filter_disk_size
img -T file=/nonexist/x
img -T file=/nonexist/x bogus
img -T foo -T events=/nonexist -T bar info -f raw tr.raw

echo "== commands"
img foo
img bogus -V
img bogus -h
img inf a.raw
img INFO a.raw
img --
img -- info
img info --

echo "== option errors inside commands"
img info -f
img info -Uf
img info a.raw -Uf
img info -x a.raw
img info -xU a.raw
img info -Ux a.raw
img info --xx a.raw
img info --o=json a.raw
img info --output
img info a.raw --outp
img info --image-opts=x a.raw
img info -V a.raw
img info -T x a.raw
img info '-?'
