#!/usr/bin/env bash
# Install the Debian packages annforest needs that are not installed yet.
#   scripts/install-deps.sh build   compilers, Open MPI, OpenMP, HDF5, inih, cmocka, OpenBLAS, ...
#   scripts/install-deps.sh demo    build + R with bigmemory (the demo makes its data in R)
#   scripts/install-deps.sh test    build + the real clients the interop tests talk to
#   scripts/install-deps.sh bench   test + the peers the benchmarks measure (FAISS, data sets)
# Runs as root (or through sudo when it is there); does nothing when all is present.
set -euo pipefail

profile=${1:-build}
build_pkgs=(build-essential cmake pkg-config git libopenmpi-dev openmpi-bin libcmocka-dev
    libinih-dev libopenblas-dev libxxhash-dev libcjson-dev libssl-dev libhdf5-openmpi-dev)
test_pkgs=(r-base-core r-cran-bigmemory r-cran-ff r-cran-rcppannoy python3 python3-numpy
    python3-h5py hdf5-tools g++ clang libclang-rt-14-dev valgrind munge slurmctld slurmd
    slurm-client strace gnuplot-nox)
demo_pkgs=(r-base-core r-cran-bigmemory)
bench_pkgs=(libfaiss-dev python3-faiss dataset-fashion-mnist hyperfine time)

case "$profile" in
build) want=("${build_pkgs[@]}") ;;
demo) want=("${build_pkgs[@]}" "${demo_pkgs[@]}") ;;
test) want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
bench) want=("${build_pkgs[@]}" "${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
*)
    echo "install-deps.sh: unknown profile '$profile' (build, demo, test or bench)" >&2
    exit 2
    ;;
esac

missing=()
for p in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
