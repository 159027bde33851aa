/* io/file_util: temporary files beside their destination (mode from the umask), output locks
 * (a second holder refused naming the first, released locks removed, planted symlinks refused)
 * and space reservation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "file_util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[PATH_MAX];

static int make_dir(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "%s/af_file_util_XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int remove_dir(void **state) {
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_in(char *out, size_t cap, const char *name) {
    size_t n = strlen(dir);
    assert_true(n + 1 + strlen(name) < cap);
    memcpy(out, dir, n);
    out[n] = '/';
    strcpy(out + n + 1, name);
}

static void temp_has_umask_mode(mode_t mask, mode_t want) {
    char final[PATH_MAX], tmp[PATH_MAX];
    path_in(final, sizeof final, "out.bin");
    af_error err = {0};
    mode_t old = umask(mask);
    int fd = af_create_temp_beside(final, tmp, sizeof tmp, &err);
    umask(old);
    assert_true(fd >= 0);
    close(fd);
    char prefix[PATH_MAX];
    path_in(prefix, sizeof prefix, ".out.bin.tmp.");
    assert_int_equal(strncmp(tmp, prefix, strlen(prefix)), 0); /* beside it, hidden */
    struct stat st;
    assert_int_equal(stat(tmp, &st), 0);
    assert_int_equal(st.st_mode & 0777, want);
    unlink(tmp);
}

static void temp_files_get_the_umask_mode(void **state) {
    (void)state;
    temp_has_umask_mode(027, 0640);
    temp_has_umask_mode(002, 0664);
    temp_has_umask_mode(077, 0600);
}

static void second_lock_is_refused_naming_the_holder(void **state) {
    (void)state;
    char final[PATH_MAX], lock[PATH_MAX];
    path_in(final, sizeof final, "ids.desc");
    path_in(lock, sizeof lock, ".ids.desc.lock");
    af_error err = {0};
    int fd = af_lock_beside(final, &err);
    assert_true(fd >= 0);
    /* An open-file-description lock: a second open, even in this process, is another holder. */
    af_error second = {0};
    assert_int_equal(af_lock_beside(final, &second), -1);
    assert_int_equal(second.code, AF_E_OUTPUT);
    char want[128];
    snprintf(want, sizeof want, "is being written by another annforest job (pid %ld on ",
             (long)getpid());
    assert_non_null(strstr(second.msg, final));
    assert_non_null(strstr(second.msg, want));
    af_unlock_beside(final, fd);
    assert_int_equal(access(lock, F_OK), -1); /* removed with the release */
    fd = af_lock_beside(final, &err);         /* and free again */
    assert_true(fd >= 0);
    af_unlock_beside(final, fd);
}

static void stale_lock_file_does_not_block(void **state) {
    (void)state;
    char final[PATH_MAX], lock[PATH_MAX];
    path_in(final, sizeof final, "dist.desc");
    path_in(lock, sizeof lock, ".dist.desc.lock");
    FILE *f = fopen(lock, "w"); /* what a killed job leaves: the file, without the lock */
    assert_non_null(f);
    fputs("pid 1 on elsewhere, since long ago\n", f);
    fclose(f);
    af_error err = {0};
    int fd = af_lock_beside(final, &err);
    assert_true(fd >= 0);
    af_unlock_beside(final, fd);
}

static void planted_symlink_is_refused(void **state) {
    (void)state;
    char final[PATH_MAX], lock[PATH_MAX], target[PATH_MAX];
    path_in(final, sizeof final, "x.desc");
    path_in(lock, sizeof lock, ".x.desc.lock");
    path_in(target, sizeof target, "victim");
    assert_int_equal(symlink(target, lock), 0);
    af_error err = {0};
    assert_int_equal(af_lock_beside(final, &err), -1);
    assert_non_null(strstr(err.msg, "is a symbolic link"));
    assert_int_equal(access(target, F_OK), -1); /* nothing created through it */
    unlink(lock);
}

static void reserve_gives_real_blocks(void **state) {
    (void)state;
    char final[PATH_MAX], tmp[PATH_MAX];
    path_in(final, sizeof final, "big.bin");
    af_error err = {0};
    int fd = af_create_temp_beside(final, tmp, sizeof tmp, &err);
    assert_true(fd >= 0);
    assert_int_equal(af_reserve_file(fd, 1 << 20, final, &err), 0);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal(st.st_size, 1 << 20);
    assert_true((uint64_t)st.st_blocks * 512 >= (1u << 20)); /* allocated, not sparse */
    af_error too_big = {0};
    assert_int_equal(af_reserve_file(fd, UINT64_MAX, final, &too_big), -1);
    assert_non_null(strstr(too_big.msg, final));
    close(fd);
    unlink(tmp);
}

static void atomic_write_publishes_whole(void **state) {
    (void)state;
    char final[PATH_MAX];
    path_in(final, sizeof final, "meta.txt");
    af_error err = {0};
    assert_int_equal(af_write_file_atomic(final, "abc\n", 4, &err), 0);
    size_t len = 0;
    char *text = af_read_small_file(final, 100, &len, &err);
    assert_non_null(text);
    assert_int_equal(len, 4);
    assert_string_equal(text, "abc\n");
    free(text);
}

static void touch(const char *name) {
    char path[PATH_MAX];
    path_in(path, sizeof path, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
}

static int exists_in(const char *name) {
    char path[PATH_MAX];
    path_in(path, sizeof path, name);
    return access(path, F_OK) == 0;
}

static void stale_temps_of_one_file_are_removed(void **state) {
    (void)state;
    const char *stale[] = {".x.ann.tmp.Ab12Cd", ".x.ann.tmp.Ab12Cd.locktest.0"};
    const char *kept[] = {"x.ann", ".x.ann.lock", ".x.ann.meta.tmp.Zz9", ".x.ann.tmp."};
    for (size_t i = 0; i < 2; i++)
        touch(stale[i]);
    for (size_t i = 0; i < 4; i++)
        touch(kept[i]);
    char final[PATH_MAX];
    path_in(final, sizeof final, "x.ann");
    assert_int_equal(af_remove_stale_temps(final), 2);
    for (size_t i = 0; i < 2; i++)
        assert_false(exists_in(stale[i]));
    for (size_t i = 0; i < 4; i++)
        assert_true(exists_in(kept[i])); /* other files' temporaries are not this file's */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(temp_files_get_the_umask_mode, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(second_lock_is_refused_naming_the_holder, make_dir,
                                        remove_dir),
        cmocka_unit_test_setup_teardown(stale_lock_file_does_not_block, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(planted_symlink_is_refused, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(reserve_gives_real_blocks, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(atomic_write_publishes_whole, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(stale_temps_of_one_file_are_removed, make_dir, remove_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
