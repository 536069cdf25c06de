/*
 * qcow2 copy offloading ('convert -C'): the two halves of
 * bdrv_co_copy_range for a qcow2 node.
 *
 * As a source, a range is split by its L2 entries: data clusters are copied
 * from their host offset in the data file, unallocated ones from the
 * backing file (zeroes past its end, or without one), zero clusters become
 * zero writes of the destination; compressed clusters cannot be copied
 * without decompressing them (-ENOTSUP: the caller reads and writes).
 *
 * As a destination, clusters are found or allocated exactly as a write of
 * the same range would (qcow2_alloc_host_offset), so the image's layout
 * does not depend on -C; the copy goes to the data file, the partial
 * clusters' copy-on-write parts are read from the guest view and written
 * around it, and the L2 entries are linked after the data is there
 * (invariant 1 of qcow2.c).
 */
#include "config-host.h"

#include "qcow2.h"

/* Zeroes [dst_offset, +bytes) of the destination (the source reads 0). */
static int coroutine_fn qcow2_copy_zeroes(BdrvChild *dst, int64_t dst_offset,
                                          int64_t bytes,
                                          BdrvRequestFlags read_flags,
                                          BdrvRequestFlags write_flags)
{
    return bdrv_co_copy_range_to(NULL, 0, dst, dst_offset, bytes, read_flags,
                                 write_flags | BDRV_REQ_ZERO_WRITE);
}

/* An unallocated range reads the backing file, zeroes past its end. */
static int coroutine_fn qcow2_copy_from_backing(BlockDriverState *bs,
                                                int64_t offset,
                                                BdrvChild *dst,
                                                int64_t dst_offset,
                                                int64_t bytes,
                                                BdrvRequestFlags read_flags,
                                                BdrvRequestFlags write_flags)
{
    int64_t backing_len, n = 0;
    int ret;

    if (bs->backing) {
        backing_len = bdrv_co_getlength(bs->backing->bs);
        if (backing_len < 0) {
            return backing_len;
        }
        if (offset < backing_len) {
            n = MIN(bytes, backing_len - offset);
            ret = bdrv_co_copy_range_from(bs->backing, offset, dst,
                                          dst_offset, n, read_flags,
                                          write_flags);
            if (ret < 0) {
                return ret;
            }
        }
    }
    if (n < bytes) {
        return qcow2_copy_zeroes(dst, dst_offset + n, bytes - n, read_flags,
                                 write_flags);
    }
    return 0;
}

int coroutine_fn qcow2_co_copy_range_from(BlockDriverState *bs,
                                          BdrvChild *src, int64_t src_offset,
                                          BdrvChild *dst, int64_t dst_offset,
                                          int64_t bytes,
                                          BdrvRequestFlags read_flags,
                                          BdrvRequestFlags write_flags)
{
    BDRVQcow2State *s = bs->opaque;
    QCow2SubclusterType type;
    uint64_t host_offset = 0;
    unsigned int cur_bytes;
    int ret = 0;

    if (s->ejected) {
        return -ENOMEDIUM;
    }
    /* Compressed writes still in flight would have to be drained first. */
    if (s->compress_inflight || s->compress_error) {
        return -ENOTSUP;
    }
    while (bytes > 0) {
        cur_bytes = MIN((uint64_t)bytes,
                        (uint64_t)INT_MAX & ~(uint64_t)(s->cluster_size - 1));
        qemu_co_mutex_lock(&s->lock);
        ret = qcow2_get_host_offset(bs, src_offset, &cur_bytes, &host_offset,
                                    &type);
        qemu_co_mutex_unlock(&s->lock);
        if (ret < 0) {
            return ret;
        }

        switch (type) {
        case QCOW2_SUBCLUSTER_ZERO_PLAIN:
        case QCOW2_SUBCLUSTER_ZERO_ALLOC:
            ret = qcow2_copy_zeroes(dst, dst_offset, cur_bytes, read_flags,
                                    write_flags);
            break;
        case QCOW2_SUBCLUSTER_UNALLOCATED_PLAIN:
        case QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC:
            ret = qcow2_copy_from_backing(bs, src_offset, dst, dst_offset,
                                          cur_bytes, read_flags,
                                          write_flags);
            break;
        case QCOW2_SUBCLUSTER_COMPRESSED:
            return -ENOTSUP;
        case QCOW2_SUBCLUSTER_NORMAL:
            ret = bdrv_co_copy_range_from(qcow2_data_child(bs), host_offset,
                                          dst, dst_offset, cur_bytes,
                                          read_flags, write_flags);
            break;
        default:
            return -EIO;
        }
        if (ret < 0) {
            return ret;
        }
        bytes -= cur_bytes;
        src_offset += cur_bytes;
        dst_offset += cur_bytes;
    }
    return 0;
}

/*
 * Reads guest bytes [offset, +bytes) of bs (a copy-on-write part: old
 * data, backing file or zeroes) and writes them to host_offset.
 */
static int coroutine_fn qcow2_copy_cow_part(BlockDriverState *bs,
                                            uint64_t offset, uint64_t bytes,
                                            uint64_t host_offset)
{
    QEMUIOVector qiov;
    uint8_t *buf;
    int ret;

    if (!bytes) {
        return 0;
    }
    buf = qemu_try_blockalign(bytes);
    if (!buf) {
        return -ENOMEM;
    }
    qemu_iovec_init_buf(&qiov, buf, bytes);
    BLKDBG_EVENT(bs->file, BLKDBG_COW_READ);
    ret = bs->drv->bdrv_co_preadv(bs, offset, bytes, &qiov, 0);
    if (ret >= 0) {
        BLKDBG_EVENT(bs->file, BLKDBG_COW_WRITE);
        ret = bdrv_co_pwritev(qcow2_data_child(bs), host_offset, bytes,
                              &qiov, 0);
    }
    qemu_vfree(buf);
    return ret;
}

/* The data of an allocation by copy, its COW parts by read and write. */
static int coroutine_fn qcow2_copy_with_cow(BlockDriverState *bs,
                                            QCowL2Meta *m, BdrvChild *src,
                                            int64_t src_offset,
                                            uint64_t bytes,
                                            BdrvRequestFlags read_flags,
                                            BdrvRequestFlags write_flags)
{
    int ret;

    ret = qcow2_copy_cow_part(bs, m->offset + m->cow_start.offset,
                              m->cow_start.nb_bytes,
                              m->alloc_offset + m->cow_start.offset);
    if (ret < 0) {
        return ret;
    }
    /* Where a write would put the data: right after the head's COW. */
    ret = bdrv_co_copy_range_to(src, src_offset, qcow2_data_child(bs),
                                m->alloc_offset + m->cow_start.offset +
                                m->cow_start.nb_bytes,
                                bytes, read_flags, write_flags);
    if (ret < 0) {
        return ret;
    }
    return qcow2_copy_cow_part(bs, m->offset + m->cow_end.offset,
                               m->cow_end.nb_bytes,
                               m->alloc_offset + m->cow_end.offset);
}

int coroutine_fn qcow2_co_copy_range_to(BlockDriverState *bs,
                                        BdrvChild *src, int64_t src_offset,
                                        BdrvChild *dst, int64_t dst_offset,
                                        int64_t bytes,
                                        BdrvRequestFlags read_flags,
                                        BdrvRequestFlags write_flags)
{
    BDRVQcow2State *s = bs->opaque;
    BdrvChild *data = qcow2_data_child(bs);
    uint64_t host_offset, hint = 0;
    unsigned int cur_bytes;
    QCowL2Meta *l2meta = NULL;
    uint32_t align = data->bs->bl.request_alignment;
    int ret = 0;

    if (s->ejected) {
        return -ENOMEDIUM;
    }
    /*
     * Refuse before allocating what cannot be copied in the end, so that a
     * fallback to writes finds the image as it was: the source side ends
     * at a protocol node, which must be able to copy into the data file,
     * in whole blocks of it; compressed writes in flight would be drained.
     */
    if (!src->bs->drv ||
        src->bs->drv->bdrv_co_copy_range_to !=
        data->bs->drv->bdrv_co_copy_range_to ||
        !IS_ALIGNED(dst_offset, align) || !IS_ALIGNED(bytes, align) ||
        s->compress_inflight || s->compress_error) {
        return -ENOTSUP;
    }
    s->grown_zero_end = 0;
    while (bytes > 0) {
        cur_bytes = MIN((uint64_t)bytes,
                        (uint64_t)INT_MAX & ~(uint64_t)(s->cluster_size - 1));
        qemu_co_mutex_lock(&s->lock);
        if (s->use_lazy_refcounts) {
            ret = qcow2_mark_dirty(bs);
            if (ret < 0) {
                qemu_co_mutex_unlock(&s->lock);
                return ret;
            }
        }
        host_offset = hint;
        ret = qcow2_alloc_host_offset(bs, dst_offset, &cur_bytes,
                                      &host_offset, &l2meta);
        qemu_co_mutex_unlock(&s->lock);
        if (ret < 0) {
            return ret;
        }

        if (l2meta) {
            ret = qcow2_copy_with_cow(bs, l2meta, src, src_offset,
                                      cur_bytes, read_flags, write_flags);
            qemu_co_mutex_lock(&s->lock);
            if (ret < 0) {
                qcow2_alloc_cluster_abort(bs, l2meta);
            } else {
                ret = qcow2_alloc_cluster_link_l2(bs, l2meta);
            }
            qemu_co_mutex_unlock(&s->lock);
            free(l2meta);
            l2meta = NULL;
        } else {
            ret = bdrv_co_copy_range_to(src, src_offset, data, host_offset,
                                        cur_bytes, read_flags, write_flags);
        }
        if (ret < 0) {
            return ret;
        }
        hint = ROUND_UP(host_offset + cur_bytes, s->cluster_size);
        bytes -= cur_bytes;
        src_offset += cur_bytes;
        dst_offset += cur_bytes;
    }
    return 0;
}
