/* Scatter/gather vectors and buffer_is_zero. */
#include "config-host.h"

#include <check.h>

#include "util/osdep.h"
#include "util/iov.h"

START_TEST(test_buffer_is_zero)
{
    /* Every length up to 1 KiB, every offset of a stray byte, unaligned. */
    size_t maxlen = 1024 + 64;
    unsigned char *mem = xzalloc(maxlen + 64);
    size_t len, pos, align;

    for (align = 0; align < 3; align++) {
        unsigned char *buf = mem + align * 7;

        for (len = 0; len <= 1024; len++) {
            ck_assert(buffer_is_zero(buf, len));
            for (pos = 0; pos < len; pos++) {
                buf[pos] = 0x80;
                ck_assert_msg(!buffer_is_zero(buf, len),
                              "len %zu pos %zu align %zu", len, pos, align);
                buf[pos] = 0;
            }
            /* A byte just outside must not count. */
            buf[len] = 1;
            ck_assert(buffer_is_zero(buf, len));
            buf[len] = 0;
            if (align * 7 > 0) {
                buf[-1] = 1;
                ck_assert(buffer_is_zero(buf, len));
                buf[-1] = 0;
            }
        }
    }
    free(mem);
}
END_TEST

START_TEST(test_buffer_is_zero_large)
{
    size_t len = 4 * MiB + 3;
    unsigned char *buf = qemu_blockalign0(len);
    size_t pos[] = { 0, 1, 4096, 65537, 2 * MiB - 1, len - 1 };
    size_t i;

    ck_assert(buffer_is_zero(buf, len));
    for (i = 0; i < ARRAY_SIZE(pos); i++) {
        buf[pos[i]] = 1;
        ck_assert(!buffer_is_zero(buf, len));
        buf[pos[i]] = 0;
    }
    qemu_vfree(buf);
}
END_TEST

START_TEST(test_iov_copy)
{
    char a[3], b[5], c[1], out[16];
    struct iovec iov[] = { { a, 3 }, { b, 5 }, { c, 1 } };

    ck_assert_uint_eq(iov_size(iov, 3), 9);
    ck_assert_uint_eq(iov_from_buf(iov, 3, 0, "abcdefghi", 9), 9);
    ck_assert(memcmp(a, "abc", 3) == 0 && memcmp(b, "defgh", 5) == 0 &&
              c[0] == 'i');
    ck_assert_uint_eq(iov_from_buf(iov, 3, 2, "XYZ", 3), 3);
    ck_assert(memcmp(a, "abX", 3) == 0 && memcmp(b, "YZfgh", 5) == 0);
    ck_assert_uint_eq(iov_to_buf(iov, 3, 1, out, 16), 8);
    ck_assert(memcmp(out, "bXYZfghi", 8) == 0);
    ck_assert_uint_eq(iov_to_buf(iov, 3, 9, out, 4), 0);
    ck_assert_uint_eq(iov_from_buf(iov, 3, 7, "12345", 5), 2);
    ck_assert_uint_eq(iov_memset(iov, 3, 4, '-', 3), 3);
    ck_assert_uint_eq(iov_to_buf(iov, 3, 0, out, 9), 9);
    ck_assert(memcmp(out, "abXY---12", 9) == 0);
}
END_TEST

START_TEST(test_qiov)
{
    char buf[64], out[64];
    QEMUIOVector q, slice, whole;
    int i;

    for (i = 0; i < 64; i++) {
        buf[i] = (char)i;
    }
    qemu_iovec_init(&q, 1);
    for (i = 0; i < 8; i++) {
        qemu_iovec_add(&q, buf + i * 8, 8);
    }
    ck_assert_int_eq(q.niov, 8);
    ck_assert_uint_eq(q.size, 64);
    ck_assert(qemu_iovec_is_aligned(&q, 8));
    ck_assert(!qemu_iovec_is_aligned(&q, 16));

    qemu_iovec_init_slice(&slice, &q, 5, 20);
    ck_assert_uint_eq(slice.size, 20);
    ck_assert_int_eq(slice.niov, 4);
    ck_assert_uint_eq(qemu_iovec_to_buf(&slice, 0, out, 64), 20);
    for (i = 0; i < 20; i++) {
        ck_assert_int_eq(out[i], i + 5);
    }
    qemu_iovec_memset(&slice, 0, 0, 20);
    ck_assert(qemu_iovec_is_zero(&q, 5, 20));
    ck_assert(!qemu_iovec_is_zero(&q, 4, 20));
    ck_assert(!qemu_iovec_is_zero(&q, 5, 21));
    ck_assert_uint_eq(qemu_iovec_from_buf(&slice, 18, "xyz", 3), 2);
    ck_assert_int_eq(buf[23], 'x');
    qemu_iovec_destroy(&slice);

    qemu_iovec_init_buf(&whole, buf, 64);
    ck_assert_uint_eq(whole.size, 64);
    ck_assert_int_eq(whole.niov, 1);
    qemu_iovec_destroy(&whole);

    qemu_iovec_init_external(&whole, q.iov, q.niov);
    ck_assert_uint_eq(whole.size, 64);

    qemu_iovec_reset(&q);
    ck_assert_uint_eq(q.size, 0);
    ck_assert_int_eq(q.niov, 0);
    qemu_iovec_concat(&q, &whole, 60, 4);
    ck_assert_uint_eq(q.size, 4);
    qemu_iovec_destroy(&q);
}
END_TEST

static Suite *iov_suite(void)
{
    Suite *s = suite_create("iov");
    TCase *tc;

    tc = tcase_create("zero");
    tcase_add_test(tc, test_buffer_is_zero);
    tcase_add_test(tc, test_buffer_is_zero_large);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("vectors");
    tcase_add_test(tc, test_iov_copy);
    tcase_add_test(tc, test_qiov);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(iov_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
