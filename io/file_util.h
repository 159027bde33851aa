/* Small whole-file helpers: reading a small text file with a size bound, and publishing a file
 * atomically (temporary name in the same directory, created exclusively, fsync, rename), so a
 * reader never sees a half-written file under the final name. */
#ifndef AF_FILE_UTIL_H
#define AF_FILE_UTIL_H

#include "af_error.h"

#include <stddef.h>

/* Read all of PATH (at most max_len bytes) into a malloc'd, NUL-terminated buffer. */
char *af_read_small_file(const char *path, size_t max_len, size_t *len, af_error *err);

/* Write data to PATH whole or not at all. */
int af_write_file_atomic(const char *path, const void *data, size_t len, af_error *err);

/* Create a new empty file beside `final_path` named ".BASENAME.tmp.XXXXXX" (O_EXCL, never
 * following a planted symlink), mode 0666 & ~umask; its path goes to out. Returns an open fd. */
int af_create_temp_beside(const char *final_path, char *out, size_t cap, af_error *err);

/* Create the directories above PATH that do not exist yet (mkdir -p of its dirname). */
int af_make_parent_dirs(const char *path, af_error *err);

/* Rename tmp to final, then fsync the directory so the rename itself is durable. */
int af_publish_rename(const char *tmp, const char *final_path, af_error *err);

#endif
