/* Small helpers shared by annforest's HDF5 code (the matrix backend, the output store, the
 * ann-benchmarks reader): paths of the form FILE.h5:/dataset, opening files with a clear
 * message, checking that a path names a dataset, HDF5 types as annforest element types, and
 * HDF5's own error text appended to annforest's messages. Only built with AF_HAVE_HDF5. */
#ifndef AF_HDF5_UTIL_H
#define AF_HDF5_UTIL_H

#include "af_error.h"

#include <stddef.h>

#if AF_HAVE_HDF5
#include <hdf5.h>
#include <mpi.h>

/* Once per process: stop HDF5 printing its error stack (annforest reports errors itself). */
void af_h5_init(void);

/* af_fail with HDF5's innermost error description appended (": HDF5 says: ..."). */
int af_h5_fail(af_error *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Split FILE.h5:/path/to/dataset into its file and dataset parts. */
int af_h5_split(const char *path, char *file, size_t file_cap, char *dataset, size_t dset_cap,
                af_error *err);

/* Open an existing HDF5 file: serially (comm == MPI_COMM_NULL, the default driver) or with the
 * MPI-IO driver over comm (collective over comm). A missing file, a file that is not HDF5 and a
 * truncated one each get their own message naming the file. Returns the file id or -1. */
hid_t af_h5_open_file(const char *file, int writable, MPI_Comm comm, int code, af_error *err);

/* Collective over comm: open an existing file read-only with the MPI-IO driver on every rank of
 * comm. The checks that may fail on one rank alone (the file is missing there, is not HDF5) are
 * agreed before HDF5's collective open, and the open's result after it: every rank returns the
 * file id, or -1 with the message of the lowest failing rank. */
hid_t af_h5_open_file_all(const char *file, MPI_Comm comm, int code, af_error *err);

/* Whether the absolute path exists in fid (1) or not (0: some link along it is missing). */
int af_h5_link_exists(hid_t fid, const char *path);

/* Open the dataset at `dataset` in fid, with one message for each way it is not one: missing
 * (naming the first missing part of the path), a group or a named type instead. `file` names
 * the file in messages. */
hid_t af_h5_open_dataset(hid_t fid, const char *file, const char *dataset, int code, af_error *err);

/* The annforest element type that holds the values of an HDF5 integer or float type (types
 * annforest has no name for, e.g. int64, are read as double), and a short description of the
 * stored type, e.g. "int16, little-endian". Other type classes (string, compound, ...) fail
 * with a message saying which class the dataset holds. */
int af_h5_elem_type(hid_t type, int *af_type, char *desc, size_t cap, const char *what,
                    af_error *err);

/* The HDF5 type that stores annforest element type t (NATIVE_*), or -1. */
hid_t af_h5_type_of(int t);

#endif

#endif
