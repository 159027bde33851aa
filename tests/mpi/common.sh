# Shared set-up for the MPI pipeline tests: clustered data made by R's bigmemory, a job config,
# and helpers to run annforest at the test's rank count (AF_NP) or another.
. "$AF_SRC/tests/lib.sh"
require_r_package bigmemory r-cran-bigmemory

# make_data N_REF N_QUERY DIM [TYPE]: data/ref.desc and data/query.desc, clustered.
make_data() {
    Rscript "$AF_SRC/scripts/make-clustered.R" data "$1" "$2" "$3" 20 7 "${4:-double}" >/dev/null
}

# write_job FILE [extra INI lines...]: a job over data/, writing into out/.
write_job() {
    local file=$1
    shift
    mkdir -p out
    cat >"$file" <<INI
[job]
seed = 7
threads = 1
[reference]
path = data/ref.desc
[index]
path = out/ref.ann
trees = 8
shards = 4
[query]
path = data/query.desc
k = 10
[output]
index = out/ids.desc
distance = out/dist.desc
INI
    local line
    for line in "$@"; do
        echo "$line" >>"$file"
    done
}

# af NP COMMAND ARGS...: annforest under mpirun with NP ranks.
af() {
    local np=$1
    shift
    af_mpirun "$np" "$ANNFOREST" "$@"
}

# recall_r IDS_DESC TRUE_DESC: mean overlap of the id rows, printed by R.
recall_r() {
    Rscript -e "suppressMessages(library(bigmemory)); a <- attach.big.matrix('$1')[,]; \
      e <- attach.big.matrix('$2')[,]; \
      cat(mean(sapply(seq_len(nrow(a)), function(i) length(intersect(a[i,], e[i,])) / ncol(a))))"
}

# at_least X Y WHAT: fail unless X >= Y.
at_least() {
    awk -v x="$1" -v y="$2" 'BEGIN { exit !(x >= y) }' || fail "$3: $1 < $2"
}
