#!/usr/bin/env bash
# bench: the announced run, the request pattern (checked through the bytes
# that write runs leave behind), flushes, backends and every option error.
. "$(dirname "$0")/common.rc"

_bench() {
    _run "$QEMU_IMG" bench "$@" |
        sed -e 's/in [0-9]*\.[0-9]* seconds/in T seconds/'
}

img create -q -f raw a.raw 64M
truncate -s 16k s.raw

echo "== reads"
_bench -c 1000 a.raw
_bench -c 1000 -d 16 -s 8k -S 16k -o 1M a.raw
_bench -c 0 a.raw
_bench -c 3 -S 0 a.raw
_bench -c 10 -s 1000 -S 1000 a.raw
_bench -c 100 -s 0 a.raw
_bench -c 0x10 -d 0x4 a.raw
_bench -c +5 -d +5 a.raw
_bench -c 10 -q a.raw
_bench -c 10 -U a.raw
_bench -c 10 -f raw -t writeback a.raw
_bench -c 10 -t none a.raw
_bench -c 10 -i threads a.raw
_bench -c 10 -i io_uring a.raw
_bench -c 10 -i native -t none a.raw
_bench -c 10 -n -t none a.raw
_bench -c 10 --image-opts driver=raw,file.filename=a.raw
_bench -c 100 -d 3 -o 6k -s 1k -S 4k s.raw
_bench -c 10 -d 1 -s 1k -S 40k s.raw

echo "== writes: the bytes they leave"
for args in "-c 4 -S 8k" "-c 6 -d 1 -o 6k -s 1k -S 4k" "-c 3 -d 1 -s 1k -S 40k" \
            "-c 7 -d 1 -s 3k -S 5k --pattern=0x5a" "-c 20 -d 4 --pattern=255" \
            "-c 8 -d 2 --flush-interval=4" "-c 10 -d 3 --flush-interval=4" \
            "-c 9 -d 2 --flush-interval=2 --no-drain" "-c 5 -w --no-drain"; do
    truncate -s 0 w.raw; truncate -s 16k w.raw
    _bench -f raw -w --pattern=0x41 $args w.raw
    _md5 w.raw
    od -A d -t x1 w.raw | head -n 12
done
echo "== the warning for a probed raw image"
_bench -c 1 -w a.raw
_bench -c 1 -w -q a.raw
_bench -c 10 -w --flush-interval=0 a.raw

echo "== failed requests"
_bench -c 10 -o 64M a.raw
_bench -c 10 -o 65M a.raw
_bench -c 10 -s 3k -o 6k -S 4k -d 2 s.raw
_bench -f raw -c 10 -w -o 64M a.raw

echo "== errors"
_bench
_bench a.raw b.raw
_bench -x a.raw
_bench -c
for c in x -1 1k 4294967295 2147483648 5x; do _bench -c "$c" a.raw; done
for d in x -1 1k 4294967296; do _bench -d "$d" a.raw; done
for s in x 3G 2G -1; do _bench -s "$s" a.raw; done
_bench -S x a.raw
_bench -S 3G a.raw
_bench -o x a.raw
_bench -i bogus a.raw
_bench -c 10 -i native a.raw
_bench -c 10 -n a.raw
_bench -t bogus a.raw
_bench -c 10 nosuch.raw
_bench -c 10 --image-opts -f raw driver=raw,file.filename=a.raw
_bench -c 1000 --flush-interval=100 a.raw
_bench -c 3 -d 5 --flush-interval=5 a.raw
for f in x -1 1k 4294967296; do _bench -w --flush-interval="$f" a.raw; done
_bench -w -f raw -c 3 --flush-interval=0x10 a.raw
_bench -w -f raw -c 3 -d 8 --flush-interval=7 a.raw
for p in x 256 -1 1k; do _bench -w --pattern="$p" a.raw; done
echo "== --object is not a bench option"
_bench --object secret,id=s0,data=x -c 1 a.raw
