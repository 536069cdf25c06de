#!/usr/bin/env bash
# Commands killed with SIGKILL half-way leave what the reference leaves: a
# preallocating create has already given the file its full length (the
# zeroes come after), a convert has created its target; neither leaves a
# lock behind (OFD locks die with the process), so the next command on the
# file just works.
. "$(dirname "$0")/common.rc"
. "$(dirname "$0")/common.qemu-io.rc"

SIZE=$((2 * 1024 * 1024 * 1024))

# _kill_when_size FILE BYTES PID: SIGKILLs PID once FILE is BYTES long.
_kill_when_size() {
    local i
    for i in $(seq 2000); do
        [ "$(stat -c %s "$1" 2>/dev/null)" = "$2" ] && break
        sleep 0.01
    done
    kill -9 "$3" 2>/dev/null
    wait "$3" 2>/dev/null
}

echo "== create -o preallocation=full, killed"
"$QEMU_IMG" create -q -f raw -o preallocation=full k.raw $SIZE &
_kill_when_size k.raw $SIZE $!
stat -c '%n %s' k.raw
cmp -n 1048576 k.raw /dev/zero && echo "reads as zeroes"
img info -f raw k.raw | head -3
img create -f raw k.raw 1M
stat -c '%n %s' k.raw
rm -f k.raw

echo "== create over an image, killed"
_random_file k.raw 1048576 4041
"$QEMU_IMG" create -q -f raw -o preallocation=full k.raw $SIZE &
_kill_when_size k.raw $SIZE $!
stat -c '%n %s' k.raw
cmp -n 1048576 k.raw /dev/zero && echo "reads as zeroes"
rm -f k.raw

echo "== convert, killed while it copies"
_random_file src.raw 4194304 4042
"$QEMU_IMG" convert -r 1k -O raw src.raw k.raw &
_kill_when_size k.raw 4194304 $!
stat -c '%n %s' k.raw
img convert -O raw src.raw k.raw
cmp src.raw k.raw && echo "same data"

echo "== a killed holder leaves no lock"
"$QEMU_IMG" convert -r 1k -O raw src.raw k2.raw &
pid=$!
_kill_when_size k2.raw 4194304 $pid
img convert -O raw k.raw src.raw
img resize -f raw k2.raw 8M
