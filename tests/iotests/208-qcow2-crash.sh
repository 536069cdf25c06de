#!/usr/bin/env bash
# A SIGKILL at any point of a write workload leaves an image that the
# reference's check calls consistent: leaks at worst, never corruption.
# (lazy_refcounts=on leaves stale refcounts by design: open repairs them.)
. "$(dirname "$0")/common.rc"
_require_ref

python3 - <<'PY'
import random
r = random.Random(208)
with open('src.raw', 'wb') as f:
    f.truncate(384 << 20)
    for i in range(0, 384 << 20, 1 << 20):
        if r.random() < 0.7:
            f.seek(i + r.randrange(0, 1 << 19))
            f.write(r.randbytes(r.randrange(4096, 1 << 19)))
PY

# crash OPTS DELAY: convert into a fresh image and kill it after DELAY.
crash() {
    local opts=$1 delay=$2 rc
    rm -f t.qcow2
    "$REF_QEMU_IMG" create -q -f qcow2 -o "$opts" t.qcow2 384M
    "$QEMU_IMG" convert -n -f raw -O qcow2 src.raw t.qcow2 &
    sleep "$delay"
    kill -9 $! 2>/dev/null
    wait $! 2>/dev/null
    # -U: io_uring requests of the killed process may hold its lock a moment.
    "$REF_QEMU_IMG" check -U t.qcow2 > check.out 2>&1
    rc=$?
    if [ $rc -eq 0 ] || [ $rc -eq 3 ]; then
        echo "$opts: consistent"
    else
        echo "$opts after ${delay}s: exit $rc"
        cat check.out
    fi
}

for opts in cluster_size=4k cluster_size=64k cluster_size=512 \
            extended_l2=on; do
    for delay in 0.005 0.01 0.02 0.04 0.08 0.15; do
        crash "$opts" "$delay"
    done
done 2>&1 | sort | uniq -c
