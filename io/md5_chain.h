/* The MD5 of a file whose bytes are spread over the ranks, computed without reading it back.
 *
 * MD5 is sequential: each block's step needs the state left by every byte before it, so one
 * process must see the bytes in order. But when the file is a sequence of regions and, inside
 * each region, every rank holds one contiguous piece in rank order (the index file: item nodes,
 * tree nodes, root copies), the state can travel instead of the bytes. A token (the MD5 state,
 * about 100 bytes) goes from rank 0 to rank P-1 once per region, each rank feeding it its piece
 * from memory. The result is the MD5 of the whole file.
 *
 * The point is the overlap: a rank hashes its piece when the token reaches it and is free to do
 * other work until then. In the build, rank 0 hashes its item nodes as it makes them while the
 * other ranks build trees; they hash theirs afterwards, while rank 0 builds its own trees. The
 * sequential pass no longer waits for the whole file at the end.
 *
 * Rule that keeps ranks from hanging: every rank makes the same sequence of begin/end calls,
 * whether or not it failed (a rank that cannot feed its piece poisons the token instead), and
 * no agreement point (af_mpi_agree) may fall between one rank's end_piece and the next rank's
 * begin_piece of the same region. Rank P-1 hands the token back to rank 0 only when it begins
 * its piece of the next region, so the step from one region to the next may cross agreements. */
#ifndef AF_MD5_CHAIN_H
#define AF_MD5_CHAIN_H

#include <stddef.h>

typedef struct af_md5_chain af_md5_chain;

/* Not collective. Rank 0 holds a fresh MD5 state; every other rank waits for the token.
 * NULL when memory ran out. */
af_md5_chain *af_md5_chain_create(void);

/* Start this rank's piece of the next region: wait for the token (from the previous rank; rank
 * 0 from rank P-1, which hands it over when it begins its own next piece). */
void af_md5_chain_begin_piece(af_md5_chain *c);

/* Feed bytes of this rank's piece, in file order (between begin and end). */
void af_md5_chain_update(af_md5_chain *c, const void *bytes, size_t n);

/* This rank could not feed its piece: the result will be void (finish fails on every rank). */
void af_md5_chain_poison(af_md5_chain *c);

/* End this rank's piece: pass the token on to the next rank without waiting (rank P-1 keeps
 * it until its next begin_piece, or finish). */
void af_md5_chain_end_piece(af_md5_chain *c);

/* Collective, after every region: the MD5 as 32 hex digits on every rank. Returns -1 (hex
 * empty) when a rank poisoned the token. */
int af_md5_chain_finish(af_md5_chain *c, char hex[33]);

/* Waits for a send still in flight (its receiver always takes it, by the rule above). */
void af_md5_chain_free(af_md5_chain *c);

#endif
