#include "file_util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *af_read_small_file(const char *path, size_t max_len, size_t *len, af_error *err) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return af_fail_errno(err, AF_E_INPUT, errno, "cannot open %s", path), NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return af_fail(err, AF_E_INPUT, "%s is not a regular file", path), NULL;
    }
    if ((size_t)st.st_size > max_len) {
        close(fd);
        return af_fail(err, AF_E_INPUT, "%s is %lld bytes, larger than the %zu expected", path,
                       (long long)st.st_size, max_len),
               NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            af_fail_errno(err, AF_E_INPUT, n < 0 ? errno : EIO, "cannot read %s", path);
            free(buf);
            close(fd);
            return NULL;
        }
        got += (size_t)n;
    }
    close(fd);
    if (!buf)
        return af_fail(err, AF_E_INTERNAL, "out of memory reading %s", path), NULL;
    buf[got] = '\0';
    *len = got;
    return buf;
}

int af_create_temp_beside(const char *final_path, char *out, size_t cap, af_error *err) {
    char dir_buf[PATH_MAX], base_buf[PATH_MAX];
    snprintf(dir_buf, sizeof dir_buf, "%s", final_path);
    snprintf(base_buf, sizeof base_buf, "%s", final_path);
    const char *dir = dirname(dir_buf), *base = basename(base_buf);
    if ((size_t)snprintf(out, cap, "%s/.%s.tmp.XXXXXX", dir, base) >= cap)
        return af_fail(err, AF_E_OUTPUT, "path too long: %s", final_path);
    /* mkstemp creates with O_EXCL (so never through a planted symlink) and mode 0600; widen to
     * what the user's umask allows, as a plain creat() would. */
    int fd = mkstemp(out);
    if (fd < 0)
        return af_fail_errno(err, AF_E_OUTPUT, errno, "cannot create a temporary file in %s", dir);
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0) {
        int e = errno;
        close(fd);
        unlink(out);
        return af_fail_errno(err, AF_E_OUTPUT, e, "cannot set the mode of %s", out);
    }
    return fd;
}

static void fsync_directory_of(const char *path) {
    char dir_buf[PATH_MAX];
    snprintf(dir_buf, sizeof dir_buf, "%s", path);
    int dfd = open(dirname(dir_buf), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd); /* best effort: some file systems refuse fsync on directories */
        close(dfd);
    }
}

int af_publish_rename(const char *tmp, const char *final_path, af_error *err) {
    if (rename(tmp, final_path) != 0)
        return af_fail_errno(err, AF_E_OUTPUT, errno, "cannot publish %s", final_path);
    fsync_directory_of(final_path);
    return 0;
}

int af_write_file_atomic(const char *path, const void *data, size_t len, af_error *err) {
    char tmp[PATH_MAX];
    int fd = af_create_temp_beside(path, tmp, sizeof tmp, err);
    if (fd < 0)
        return -1;
    const char *p = data;
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, p + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            return af_fail_errno(err, AF_E_OUTPUT, e, "cannot write %s", path);
        }
        done += (size_t)n;
    }
    int e = fsync(fd) != 0 ? errno : 0;
    if (close(fd) != 0 && e == 0)
        e = errno;
    if (e != 0) {
        unlink(tmp);
        return af_fail_errno(err, AF_E_OUTPUT, e, "cannot write %s", path);
    }
    if (af_publish_rename(tmp, path, err) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

int af_make_parent_dirs(const char *path, af_error *err) {
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
        return af_fail(err, AF_E_OUTPUT, "path too long: %s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        int end = *p == '\0';
        if (*p == '/' || end) {
            char saved = *p;
            *p = '\0';
            if (mkdir(dir, 0777) != 0 && errno != EEXIST)
                return af_fail_errno(err, AF_E_OUTPUT, errno, "cannot create directory %s for %s",
                                     dir, path);
            *p = saved;
        }
        if (end)
            break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return af_fail(err, AF_E_OUTPUT, "%s: %s is not a directory", path, dir);
    return 0;
}
