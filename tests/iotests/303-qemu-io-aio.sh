#!/usr/bin/env bash
# qemu-io aio_read/aio_write/aio_flush: results print when the request
# completes (at the latest in aio_flush or at exit), failures of the
# request itself do not fail the command, argument errors do.
. "$(dirname "$0")/common.rc"
. "$(dirname "$0")/common.qemu-io.rc"

_make_raw t.raw 1M
io1() { qio -f raw "$@" t.raw; }

echo "== one request at a time"
io1 -c "aio_write -P 0x42 0 512 512" -c aio_flush \
    -c "aio_read -P 0x42 0 1k" -c aio_flush \
    -c "aio_read -v 0 4" -c aio_flush \
    -c "aio_read -P 0x43 0 1k" -c aio_flush \
    -c "aio_read -v -P 0x41 0 4" -c aio_flush
io1 -c "aio_write -C 0 1" -c aio_flush -c "aio_read -C 0 1" -c aio_flush \
    -c "aio_read -q 0 1" -c aio_flush -c "aio_write -q -P 7 0 1" -c aio_flush \
    -c "aio_read 0 0 1" -c aio_flush -c "aio_write -f 1 1" -c aio_flush

echo "== completion at exit"
io1 -c "aio_write -P 0x44 4k 4k"
io1 -c "aio_read -P 0x44 4k 4k"

echo "== zero writes (timing not compared: the reference's is odd)"
qio -f raw -c "aio_write -z -q 4k 1k" -c aio_flush \
    -c "aio_write -z -u -q 5k 1k" -c aio_flush \
    -c "aio_write -z -f -q 6k 512" -c aio_flush \
    -c "aio_write -z -P 1 -q 7k 1" -c aio_flush \
    -c "read -P 0 4k 2k" -c "read -P 0x44 6656 512" -c "read -v 7k 2" t.raw

echo "== many requests in flight, checked afterwards"
io1 -c "aio_write -q -P 1 0 64k" -c "aio_write -q -P 2 64k 64k" \
    -c "aio_write -q -P 3 128k 1 2 3 4" -c "aio_read -q 192k 64k" \
    -c aio_flush -c "read -P 1 0 64k" -c "read -P 2 64k 64k" \
    -c "read -P 3 128k 10"

echo "== failing requests: the command still succeeds"
io1 -c "aio_read 2M 1" -c aio_flush
io1 -c "aio_write 2M 1" -c aio_flush
io1 -c "aio_write -z -q 0 3G" -c aio_flush
io1 -c "aio_write -z -q 1M 1" -c aio_flush

echo "== invalid requests"
io1 -c "aio_read -i 0 1" -c "aio_write -i 0 1" -c "aio_read -i x" \
    -c "aio_write -i x" -c "aio_write -i -z 0 1 1" -c "aio_write -i -u 0 1" \
    -c aio_flush

echo "== argument errors"
io1 -c "aio_read 0 3G" -c "aio_write 0 3G" -c "aio_read 0 x" \
    -c "aio_write 0 1G 1G 1G" -c "aio_read -P 1 x 1" \
    -c "aio_write -P 300 0 1"
io1 -c "aio_write -u 0 1" -c "aio_write -z 0 1 1" -c "aio_write -z 0 x y" \
    -c "aio_write -u -z 0 x" -c "aio_write -z x 1" -c "aio_read 0" \
    -c "aio_read -x 0 1" -c "aio_write -b 0 1" -c "aio_flush 1"
qio -f raw -r -c "aio_write 0 1" -c "aio_read -q 0 1" -c aio_flush t.raw

echo "== the image itself"
_md5 t.raw
