#include "file_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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
        return af_fail_errno(err, AF_E_OUTPUT, errno,
                             "cannot write %s: cannot create a temporary file in %s", final_path,
                             dir);
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

int af_write_temp_beside(const char *path, const void *data, size_t len, char *tmp, size_t cap,
                         af_error *err) {
    int fd = af_create_temp_beside(path, tmp, cap, err);
    if (fd < 0)
        return -1;
    const char *p = data;
    size_t done = 0;
    int e = 0;
    while (done < len && !e) {
        ssize_t n = write(fd, p + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            e = n < 0 ? errno : EIO;
        else
            done += (size_t)n;
    }
    if (!e && fsync(fd) != 0)
        e = errno;
    if (close(fd) != 0 && !e)
        e = errno;
    if (e) {
        unlink(tmp);
        tmp[0] = '\0';
        return af_fail_errno(err, AF_E_OUTPUT, e, "cannot write %s", path);
    }
    return 0;
}

int af_write_file_atomic(const char *path, const void *data, size_t len, af_error *err) {
    char tmp[PATH_MAX];
    if (af_write_temp_beside(path, data, len, tmp, sizeof tmp, err) != 0)
        return -1;
    if (af_publish_rename(tmp, path, err) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

int af_reserve_file(int fd, uint64_t bytes, const char *path, af_error *err) {
    if (bytes > (uint64_t)INT64_MAX)
        return af_fail(err, AF_E_OUTPUT, "cannot write %s: %llu bytes is too large", path,
                       (unsigned long long)bytes);
    if (bytes == 0)
        return ftruncate(fd, 0) == 0
                   ? 0
                   : af_fail_errno(err, AF_E_OUTPUT, errno, "cannot size %s", path);
    int rc;
    do
        rc = fallocate(fd, 0, 0, (off_t)bytes);
    while (rc != 0 && errno == EINTR);
    if (rc == 0)
        return 0;
    int e = errno;
    if (e == EOPNOTSUPP || e == ENOSYS) { /* cannot reserve here: size it, blocks come later */
        if (ftruncate(fd, (off_t)bytes) == 0)
            return 0;
        e = errno;
    }
    return af_fail_errno(err, AF_E_OUTPUT, e, "cannot write %s (%llu bytes)", path,
                         (unsigned long long)bytes);
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

/* ---- output locks --------------------------------------------------------------------- */

static int lock_path_for(const char *final_path, char *out, size_t cap) {
    char dir_buf[PATH_MAX], base_buf[PATH_MAX];
    snprintf(dir_buf, sizeof dir_buf, "%s", final_path);
    snprintf(base_buf, sizeof base_buf, "%s", final_path);
    return (size_t)snprintf(out, cap, "%s/.%s.lock", dirname(dir_buf), basename(base_buf)) < cap
               ? 0
               : -1;
}

static int try_lock(int fd) {
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
#ifdef F_OFD_SETLK
    if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
        return 0;
    if (errno != EINVAL)
        return -1;
#endif
    return fcntl(fd, F_SETLK, &fl);
}

static int holder_error(const char *final_path, int fd, af_error *err) {
    char who[256] = "";
    ssize_t n = pread(fd, who, sizeof who - 1, 0);
    who[n > 0 ? n : 0] = '\0';
    who[strcspn(who, "\n")] = '\0';
    return af_fail(err, AF_E_OUTPUT,
                   "%s is being written by another annforest job (%s); wait for it to end, or "
                   "write this job's output elsewhere",
                   final_path, who[0] ? who : "holder unknown");
}

static void record_holder(int fd) {
    char host[128] = "?", when[64] = "?", line[320];
    gethostname(host, sizeof host - 1);
    host[sizeof host - 1] = '\0';
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    int n = snprintf(line, sizeof line, "pid %ld on %s, since %s\n", (long)getpid(), host, when);
    if (ftruncate(fd, 0) == 0 && n > 0)
        (void)!pwrite(fd, line, (size_t)n, 0);
}

int af_lock_beside(const char *final_path, af_error *err) {
    char lock[PATH_MAX];
    if (lock_path_for(final_path, lock, sizeof lock) != 0)
        return af_fail(err, AF_E_OUTPUT, "path too long: %s", final_path);
    mode_t mask = umask(0);
    umask(mask);
    /* The holder removes the file when done; a lock taken on a file that has meanwhile been
     * removed (or replaced) locks nothing, so check the name still leads to it, else retry. */
    for (int attempt = 0; attempt < 100; attempt++) {
        int fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666 & ~mask);
        if (fd < 0 && errno == ELOOP)
            return af_fail(err, AF_E_OUTPUT,
                           "cannot write %s: its lock file %s is a symbolic link, which annforest "
                           "never follows; remove it",
                           final_path, lock);
        if (fd < 0)
            return af_fail_errno(err, AF_E_OUTPUT, errno,
                                 "cannot write %s: cannot create its lock file %s", final_path,
                                 lock);
        struct stat held, named;
        if (fstat(fd, &held) != 0 || !S_ISREG(held.st_mode)) {
            close(fd);
            return af_fail(err, AF_E_OUTPUT, "cannot lock %s: %s is not a regular file", final_path,
                           lock);
        }
        if (try_lock(fd) != 0) {
            int e = errno;
            int rc =
                e == EAGAIN || e == EACCES
                    ? holder_error(final_path, fd, err)
                    : af_fail_errno(err, AF_E_OUTPUT, e, "cannot lock %s (%s)", final_path, lock);
            close(fd);
            return rc;
        }
        if (lstat(lock, &named) == 0 && named.st_ino == held.st_ino &&
            named.st_dev == held.st_dev) {
            record_holder(fd);
            return fd;
        }
        close(fd); /* released and removed under us: take the new one */
    }
    return af_fail(err, AF_E_OUTPUT, "cannot lock %s: %s keeps changing", final_path, lock);
}

void af_unlock_beside(const char *final_path, int fd) {
    if (fd < 0)
        return;
    char lock[PATH_MAX];
    if (lock_path_for(final_path, lock, sizeof lock) == 0)
        unlink(lock); /* while still holding it: a waiter that opened it will retry */
    close(fd);
}

int af_remove_stale_temps(const char *final_path) {
    char dir_buf[PATH_MAX], base_buf[PATH_MAX], prefix[PATH_MAX + 8];
    snprintf(dir_buf, sizeof dir_buf, "%s", final_path);
    snprintf(base_buf, sizeof base_buf, "%s", final_path);
    const char *dir = dirname(dir_buf);
    if ((size_t)snprintf(prefix, sizeof prefix, ".%s.tmp.", basename(base_buf)) >= sizeof prefix)
        return 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    int removed = 0;
    size_t n = strlen(prefix);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strncmp(e->d_name, prefix, n) == 0 && e->d_name[n] != '\0' &&
            unlinkat(dirfd(d), e->d_name, 0) == 0)
            removed++;
    closedir(d);
    return removed;
}
