#!/usr/bin/env bash
# qemu-io's command loop and control commands: commands from stdin after a
# prompt, word splitting, help, quit, sleep, sigraise, abort, open, close,
# reopen, and the dispatcher's checks (unknown command, no image, counts).
. "$(dirname "$0")/common.rc"
. "$(dirname "$0")/common.qemu-io.rc"

_make_raw t.raw 1M

echo "== commands from stdin"
qio_in -f raw t.raw </dev/null
qio_in -f raw t.raw <<'EOF2'
length
read 0 1

foo
read 2M 1
  length  
quit
length
EOF2
printf 'read\t0\t1\nread "0" 1\nread 0  1\nwrite -P 0x41 0 1 # c\nlength' |
    qio_in -f raw t.raw
qio_in <<'EOF2'
length
open -o driver=raw t.raw
write -P 0x61 0 512
close
close
open -r -o driver=raw t.raw
read -P 0x61 0 512
write 0 1
EOF2

echo "== help"
qio -c help
qio -c "help aio_flush" -c "help map" -c "help close" -c "help foo" \
    -c "help help x"

echo "== dispatcher checks"
qio -f raw -c "foo" -c "read	0 1" -c "Length" t.raw
qio -c aio_flush -c "aio_read 0 1" -c alloc -c "break a b" -c close \
    -c discard -c flush -c info -c length -c map -c read -c readv \
    -c remove_break -c reopen -c resume -c truncate -c wait_break \
    -c write -c writev
qio -f raw -c "abort x" -c "aio_flush x" -c "close x" -c "quit 1 2 3" t.raw
qio -f raw -c "break a" -c "remove_break" -c "resume" -c "wait_break" \
    -c "sigraise" -c "sleep" -c "sleep 1 2" -c "open" t.raw

echo "== sleep"
qio -c "sleep 10" -c "sleep 0x10" -c "sleep 010" -c "sleep 0"
qio -c "sleep abc" -c "sleep 1k" -c "sleep -5" -c "sleep 1.5"
qio -c "sleep 99999999999999999999" -c "sleep 9223372036854775"
qio -f raw -c "aio_write -P 9 0 1" -c "sleep 50" -c "read -P 9 0 1" t.raw

echo "== sigraise and abort"
qio -c "sigraise 0" -c "sigraise 10" -c "sigraise 13" -c "sigraise 14" \
    -c "sigraise 28" -c "sigraise 29" -c "sigraise 65"
qio -c "sigraise 66" -c "sigraise 1k" -c "sigraise -1" -c "sigraise x"
(qio -f raw -c "read 0 1" -c "sigraise 15" -c "read 0 1" t.raw) 2>&1 |
    sed -e 's/^.*Terminated.*$/Terminated/'
(qio -f raw -c "read 0 1" -c "abort" t.raw) 2>&1 |
    sed -e 's/^.*Aborted.*$/Aborted/'

echo "== open and close"
qio -c "open -o driver=raw t.raw" -c length -c close -c length \
    -c "open -o driver=raw,file.filename=t.raw" -c length -c "open t.raw"
qio -c "open t.raw" -c "write 0 1" -c close -c "open -r t.raw" -c "write 0 1"
qio -c "open -o driver=raw" -c "open -o driver=raw t.raw extra" \
    -c "open -o driver=raw,foo=bar t.raw" -c "open nonexist" \
    -c "open -t bogus t.raw" -c "open -d bogus t.raw" -c "open -i bogus t.raw" \
    -c "open -x t.raw" -c "open -f raw t.raw" -c "open -k -o driver=raw t.raw" \
    -c "open -U -o driver=raw t.raw" -c length
qio -c "open -n -k -o driver=raw t.raw" -c "write -P 0x62 512 512" \
    -c close -c "open -r -U -o driver=raw t.raw" -c "read -P 0x62 512 512"
qio -c "open -d ignore -o driver=raw t.raw" -c "discard 0 4k" -c close \
    -c "open -n -t writethrough -i threads -o driver=raw t.raw" -c "read 0 1"
qio --image-opts -c "open driver=raw,file.filename=t.raw" -c length \
    -c "open -o driver=raw t.raw"
qio -c "open driver=raw,file.filename=t.raw"

echo "== reopen"
qio -f raw -c "reopen -r" -c "write 0 1" -c "reopen -w" -c "write 0 1" \
    -c "reopen -o read-only=off" -c "write 0 1" -c "reopen -c none" -c "reopen -c writethrough" \
    -c "write 0 1" t.raw
qio -f raw -r -c "reopen -w" -c "write 0 1" t.raw
qio -f raw -c "reopen -c bogus" -c "reopen -o foo=bar" -c "reopen x" \
    -c "reopen -r -o read-only=off" -c "reopen -r -w" -c "reopen -x" t.raw

echo "== the image itself"
_md5 t.raw
