/* The token is OpenSSL's MD5_CTX itself, sent as bytes: every rank runs the same binary, and
 * the struct is plain data (chaining words, bit count, the partial block). Its functions are
 * deprecated since OpenSSL 3.0 in favour of EVP, which hides the state and so cannot hand it
 * to another process; they are still the same optimised code. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "md5_chain.h"
#include "mpi_util.h"

#include <mpi.h>
#include <openssl/md5.h>
#include <stdlib.h>
#include <string.h>

enum { MD5_CHAIN_TAG = 0x4d44 };

typedef struct token {
    MD5_CTX ctx;
    int poisoned;
} token;

struct af_md5_chain {
    af_world world;
    token state;
    int held;        /* this rank holds the token */
    token outgoing;  /* the copy being sent: state may change before the send completes */
    MPI_Request req; /* that send, or MPI_REQUEST_NULL */
};

af_md5_chain *af_md5_chain_create(void) {
    af_md5_chain *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->world = af_world_get();
    c->req = MPI_REQUEST_NULL;
    c->held = c->world.rank == 0;
    if (c->held)
        MD5_Init(&c->state.ctx);
    return c;
}

static void send_to(af_md5_chain *c, int rank) {
    MPI_Wait(&c->req, MPI_STATUS_IGNORE);
    c->outgoing = c->state;
    MPI_Isend(&c->outgoing, (int)sizeof c->outgoing, MPI_BYTE, rank, MD5_CHAIN_TAG, MPI_COMM_WORLD,
              &c->req);
    c->held = 0;
}

void af_md5_chain_begin_piece(af_md5_chain *c) {
    int rank = c->world.rank, size = c->world.size;
    if (size == 1)
        return;
    /* The last rank still holds the token from the region before: rank 0 waits for it. */
    if (c->held && rank == size - 1)
        send_to(c, 0);
    if (!c->held) {
        MPI_Recv(&c->state, (int)sizeof c->state, MPI_BYTE, (rank + size - 1) % size, MD5_CHAIN_TAG,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        c->held = 1;
    }
}

void af_md5_chain_update(af_md5_chain *c, const void *bytes, size_t n) {
    if (!c->state.poisoned && n)
        MD5_Update(&c->state.ctx, bytes, n);
}

void af_md5_chain_poison(af_md5_chain *c) {
    c->state.poisoned = 1;
}

void af_md5_chain_end_piece(af_md5_chain *c) {
    if (c->world.rank < c->world.size - 1)
        send_to(c, c->world.rank + 1);
}

int af_md5_chain_finish(af_md5_chain *c, char hex[33]) {
    int last = c->world.size - 1;
    /* 32 digits, then the poisoned flag */
    char result[34] = {0};
    if (c->world.rank == last) {
        unsigned char digest[MD5_DIGEST_LENGTH];
        MD5_Final(digest, &c->state.ctx);
        static const char digits[] = "0123456789abcdef";
        for (int i = 0; i < MD5_DIGEST_LENGTH; i++) {
            result[2 * i] = digits[digest[i] >> 4];
            result[2 * i + 1] = digits[digest[i] & 15];
        }
        result[33] = (char)c->state.poisoned;
    }
    MPI_Bcast(result, (int)sizeof result, MPI_CHAR, last, MPI_COMM_WORLD);
    MPI_Wait(&c->req, MPI_STATUS_IGNORE);
    if (result[33]) {
        hex[0] = '\0';
        return -1;
    }
    memcpy(hex, result, 32);
    hex[32] = '\0';
    return 0;
}

void af_md5_chain_free(af_md5_chain *c) {
    if (!c)
        return;
    MPI_Wait(&c->req, MPI_STATUS_IGNORE);
    free(c);
}
