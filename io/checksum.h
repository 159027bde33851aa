/* Checksums of files.
 *
 * The fast one, used for index ids, integrity checks and the reference an index was built
 * from, is a chunked XXH3-64 ("xxh3-chunked-8MiB"): the files, in order, are cut into chunks
 * of AF_DIGEST_CHUNK_BYTES (the last chunk of each file may be shorter), each chunk gets its
 * XXH3-64, and the digest is the XXH3-64 of those chunk digests (little-endian 64-bit words,
 * in order) followed by the total byte count (little-endian 64-bit). Chunks are independent,
 * so every rank and thread can hash its own share (file_digest.h) and the result is the same
 * for any number of them.
 *
 * MD5 (the file_md5 field bigANNOY users expect) is inherently sequential: af_file_md5 is one
 * pass by one process (validate --strict). The build computes it without reading the file back,
 * the ranks in turn (md5_chain.h). */
#ifndef AF_CHECKSUM_H
#define AF_CHECKSUM_H

#include "af_error.h"

#include <stddef.h>
#include <stdint.h>

#define AF_DIGEST_CHUNK_BYTES ((uint64_t)8 << 20)
#define AF_DIGEST_SCHEME "xxh3-chunked-8MiB"

/* XXH3-64 of [offset, offset + len) of the file open at fd (PATH names it in errors). A file
 * shorter than that is an error ("changed while being read"). */
int af_chunk_xxh3(int fd, const char *path, uint64_t offset, uint64_t len, uint64_t *out,
                  af_error *err);

/* The digest of n chunk digests over total_bytes, as 16 hex digits. */
void af_digest_combine(const uint64_t *chunk_digests, size_t n, uint64_t total_bytes, char hex[17]);

/* Serial: the chunked digest of one whole file (size in *size). */
int af_file_digest_serial(const char *path, uint64_t *size, char hex[17], af_error *err);

/* Serial: the MD5 of one whole file, 32 hex digits. */
int af_file_md5(const char *path, char hex[33], af_error *err);

#endif
