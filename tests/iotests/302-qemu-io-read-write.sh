#!/usr/bin/env bash
# qemu-io read/write/readv/writev/discard: patterns, dumps, zero writes,
# flags, sizes and offsets (suffixes, hex, fractions), and every argument
# error, in the reference's order of checks.
. "$(dirname "$0")/common.rc"
. "$(dirname "$0")/common.qemu-io.rc"

_make_raw t.raw 1M
io1() { qio -f raw "$@" t.raw; }

echo "== patterns and dumps"
io1 -c "write -P 0x41 0 4k" -c "write -P 0x42 4k 4k" \
    -c "read -v 4090 20" -c "read -v 1 17" -c "read -v 4094 4"
io1 -c "read -P 0x41 0 4k" -c "read -P 0x41 -s 0 -l 10 4090 10" \
    -c "read -P 0x42 -s 6 -l 4 4090 10" -c "read -P 0x42 -s 6 4090 10" \
    -c "read -P 0x42 -s 2 -l 4 4090 10" -c "read -P 0x42 -l 2 4090 10"
io1 -c "read -P 0x41 -s 10 -l 0 4090 10" -c "read -P 0x42 -s 6 -l 5 4090 10" \
    -c "read -P 0x41 -s 11 4090 10" -c "read -P 1 -s 2 -l 0 0 1"
io1 -c "read -q -P 0x43 0 1" -c "read -qv 0 17" -c "read -Cq 0 1" \
    -c "read -vP 0x41 0 1" -c "read -P0x41 0 1"
io1 -c "write -P 65 0 1" -c "write -P 0101 1 1" -c "write -P 0x7e 2 1" \
    -c "write -P 0x20 3 1" -c "write -P 0xff 4 1" -c "write -P 0 5 1" \
    -c "read -v 0 6"
io1 -c "read -P 256 0 1" -c "read -P 0x141 0 1" -c "read -P -1 0 1" \
    -c "read -P abc 0 1" -c "read -P 1k 0 1" -c "write -P 0x41x 0 1"
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)))' > bytes
qio -f raw -c "write -s bytes 0 256" -c "read -v 0 256" t.raw
printf hello > src
io1 -c "write -s src 0 3" -c "write -s src 16 12" -c "read -v 0 32"
io1 -c "write -s src 64k 64k" -c "read -v 131056 16"
io1 -c "write -s nonexist 0 1" -c "write -s . 0 1" -c "write -s src 0 0"

echo "== -C and -q"
io1 -c "write -C 0 4k" -c "read -C 0 4k" -c "writev -C 0 1 2" \
    -c "readv -C 0 1 2" -c "discard -C 0 4k" -c "write -C 0 0"
io1 -c "write -q 0 4k" -c "writev -q 0 4k" -c "read -q 0 1" \
    -c "readv -q 0 1" -c "discard -q 0 1"

echo "== readv / writev"
io1 -c "writev -P 0x41 0 512 1k 3" -c "readv -P 0x41 0 512 1k 3" \
    -c "readv -v 0 8 8 4" -c "readv -P 0x41 0 1536 4" \
    -c "readv -v -P 0x42 0 4" -c "writev -f 0 1" -c "readv 0 0 1"
io1 -c "writev 0" -c "writev -P 300 0 1" -c "writev -z 0 1" \
    -c "writev 0 x" -c "writev x 1" -c "writev 0 1 x" -c "readv 0 3G" \
    -c "readv 0 1G 1G 1G" -c "readv 0 0" -c "readv 0 2M" -c "readv 0 1 -1"

echo "== zero writes"
io1 -c "write -P 0x55 0 8k" -c "write -z 1 511" -c "write -z -u 4k 4k" \
    -c "write -z -n 1000 10" -c "write -z -u -n 2k 512" -c "write -z -f 3k 1" \
    -c "read -v 0 16" -c "read -P 0 4k 4k" -c "read -v 2040 16"
io1 -c "write -z -n -c 0 512" -c "write -z -P 0x41 0 1" -c "write -z -c 0 1" \
    -c "write -u 0 1" -c "write -n 0 1" -c "write -z -u 0 3G" \
    -c "write -z -n 0 3G"

echo "== flags that do not fit together"
io1 -c "write -P abc -z 0 1" -c "write -z -b 0" -c "write -z -b -f 0 1" \
    -c "write -f -c -z -P 1 0 1" -c "write -z -P 1 -n 0 1" \
    -c "write -n -u 0 1" -c "write -u -n 0 1" -c "write -n 0 x"
io1 -c "write -z x y" -c "write -c x y" -c "write -c 0 y" -c "write -c 1 y" \
    -c "write -c 1 3G" -c "write -c 1 1" -c "write -c 0 1" \
    -c "write -s nonexist x 1" -c "write -s nonexist -c 1 1" \
    -c "write -s src -P 1 0 1" -c "write -z -s src 0 1"

echo "== compressed, FUA, VM state"
io1 -c "write -c 0 512" -c "write -f 0 1" -c "write -c -f 0 1" \
    -c "write -b 0 512" -c "write -b 1 512" -c "write -b 0 1" \
    -c "read -b 0 512" -c "read -b 1 512" -c "read -b -P 1 -s 2 1 1" \
    -c "read -b 1 3G"

echo "== offsets and lengths"
io1 -c "read 0 0" -c "write 0 0" -c "read 1M 0" -c "read 1M 1" \
    -c "read 1048575 1" -c "read 1048575 2" -c "write 1048575 2" \
    -c "write -z 1048575 2" -c "discard 1048575 2"
io1 -c "read 0 1.5k" -c "read 0 0x10" -c "read 0X10 0x1k" -c "read 0 1b" \
    -c "read 0 1B" -c "read 0 0.1k" -c "read 0 1.999k" -c "read 010 +10" \
    -c "read 0 5." -c "read 0 1M" -c "read 0 1m"
io1 -c "read 0x 1" -c "read 0 1x" -c "read 0 1.5" -c "read 0 1e3" \
    -c "read 0 0x1.8k" -c "read 0 1k5" -c "read 0 .5k" -c "read 0 1kb" \
    -c "read 0 1KiB" -c "read 0 00x10" -c "read 0 inf" -c "read -- 0 -1" \
    -c "read 0 -- -0"
io1 -c "read 0 3G" -c "read 0 1T" -c "read 0 4e" -c "read 0 2147483137" \
    -c "write 0 2147483137" -c "read 0 8E" -c "read 0 18446744073709551615" \
    -c "read 0 0x8000000000000000" -c "read 0 99999999999999999999"
io1 -c "read 0x7fffffffffffffff 1" -c "write 0x7fffffffffffffff 1" \
    -c "write -z 0x7fffffffffffffff 1" -c "discard 0x7fffffffffffffff 1" \
    -c "read 9223372036854775807 0"
io1 -c "read 0 1G" -c "write 1M 1" -c "discard 0 2M" -c "discard 0 3G" \
    -c "discard 0 0" -c "discard 1 3"

echo "== argument counts and unknown options"
io1 -c "read" -c "read 0" -c "read -q 0" -c "read 0 1 2" -c "read -x 0 1" \
    -c "read -a 0 1" -c "read -1 1" -c "read 0 1 -P" -c "read -s 6 4090 10" \
    -c "read -l 6 4090 10" -c "read -s 6 x 10" -c "read -s 6 0 3G"
io1 -c "read -p 0 1" -c "write -p 0 1" -c "read 0 16 -v" -c "read -- 0 1"
io1 -c "write" -c "write 0" -c "write -q 0 1 2" -c "write -x 0 1" \
    -c "discard" -c "discard 0" -c "discard -x 0 1" -c "discard 0 1 2"

echo "== read-only images refuse writes before parsing them"
qio -f raw -r -c "write 0 1" -c "write -z 0 1" -c "writev 0 1" \
    -c "discard 0 1" -c "write -x" -c "write" -c "write 0 1 2 3" \
    -c "read 0 1" t.raw

echo "== the image itself"
_md5 t.raw
