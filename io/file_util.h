/* Small whole-file helpers: reading a small text file with a size bound, and publishing a file
 * atomically (temporary name in the same directory, created exclusively, fsync, rename), so a
 * reader never sees a half-written file under the final name. */
#ifndef AF_FILE_UTIL_H
#define AF_FILE_UTIL_H

#include "af_error.h"

#include <stddef.h>
#include <stdint.h>

/* Read all of PATH (at most max_len bytes) into a malloc'd, NUL-terminated buffer. */
char *af_read_small_file(const char *path, size_t max_len, size_t *len, af_error *err);

/* Write data to PATH whole or not at all. */
int af_write_file_atomic(const char *path, const void *data, size_t len, af_error *err);

/* The first half of af_write_file_atomic: data written and synced to a new temporary file beside
 * PATH (its name goes to tmp), ready for af_publish_rename. On failure nothing is left. */
int af_write_temp_beside(const char *path, const void *data, size_t len, char *tmp, size_t cap,
                         af_error *err);

/* Give the open file `bytes` bytes of real disk blocks (fallocate), so that writing into it
 * later cannot run out of space: a full disk or quota fails here, at once, naming `path`. Where
 * the file system cannot reserve (EOPNOTSUPP) the file is just sized (ftruncate). */
int af_reserve_file(int fd, uint64_t bytes, const char *path, af_error *err);

/* Create a new empty file beside `final_path` named ".BASENAME.tmp.XXXXXX" (O_EXCL, never
 * following a planted symlink), mode 0666 & ~umask; its path goes to out. Returns an open fd. */
int af_create_temp_beside(const char *final_path, char *out, size_t cap, af_error *err);

/* Create the directories above PATH that do not exist yet (mkdir -p of its dirname). */
int af_make_parent_dirs(const char *path, af_error *err);

/* Rename tmp to final, then fsync the directory so the rename itself is durable. */
int af_publish_rename(const char *tmp, const char *final_path, af_error *err);

/* An advisory lock that says "a job is writing final_path": an fcntl lock (open file
 * description lock where the kernel has them, so it follows the process, also over NFS) on
 * ".BASENAME.lock" beside it, which records the holder's pid, host and start time. The lock
 * goes away with the process however it ends, so a killed job never blocks the next one.
 * Returns the lock's fd (>= 0), or -1 with AF_E_OUTPUT and a message naming final_path and the
 * holder when another process holds it. Never follows a symlink planted at the lock's name. */
int af_lock_beside(const char *final_path, af_error *err);

/* Release a lock from af_lock_beside (removing its file); fd < 0 does nothing. */
void af_unlock_beside(const char *final_path, int fd);

/* Remove the temporary files a killed job left beside final_path (".BASENAME.tmp.*": its
 * af_create_temp_beside names and what Open MPI adds to them). Call it only while holding
 * final_path's lock, when no live job can be writing them, and not where a later --resume needs
 * them. Returns how many were removed. */
int af_remove_stale_temps(const char *final_path);

#endif
