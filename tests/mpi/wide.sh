# The wide index format (index.format = wide: 64-bit node ids) at AF_NP ranks: the same bytes
# as a 1-rank build, node_format annoy-int64 in the metadata, `validate --strict` passes, the
# answers are the narrow index's (same leaf size), and Annoy itself compiled with int64 node ids
# (annoylib.h from RcppAnnoy, AnnoyIndex<int64_t, ...>) loads the file and finds the same
# neighbours, with global row ids, when search_k covers every row.
. "$AF_SRC/tests/mpi/common.sh"
require_r_package RcppAnnoy r-cran-rcppannoy
require_cmd g++ g++
inc=$(Rscript -e 'cat(system.file("include", package = "RcppAnnoy"))')
[ -f "$inc/annoylib.h" ] || fail "RcppAnnoy ships no annoylib.h under '$inc'"
g++ -O1 -std=c++14 -w -I"$inc" "$AF_SRC/tests/interop/annoy_wide.cc" -o annoy_wide ||
    fail "cannot compile annoylib.h with int64 node ids"

n=1200 nq=30 dim=12 trees=5 shards=3
make_data $n $nq $dim
write_job job.ini
Rscript -e "suppressMessages(library(bigmemory));
  writeBin(as.vector(t(attach.big.matrix('data/query.desc')[, ])), 'query.f32', size = 4);
  writeBin(as.vector(attach.big.matrix('data/ref.desc')[8, ]), 'row8.f32', size = 4)"
everything=$((n * trees * shards))
# every float layout at 1 rank (manhattan shares euclidean's); at more ranks the padded
# minkowski one (CI time)
metrics="euclidean"
[ "$AF_NP" = 1 ] && metrics="euclidean angular dot"
for m in $metrics; do
    # leaf size 6: both formats hold it (wide: 8 ids), so both build the same trees
    common=(--quiet --set index.metric=$m --set index.trees=$trees --set index.shards=$shards
        --set index.leaf_size=6)
    af "$AF_NP" build --config job.ini "${common[@]}" --set index.format=wide \
        --set index.path=out/$m.wide.ann
    if [ "$AF_NP" != 1 ]; then
        af 1 build --config job.ini "${common[@]}" --set index.format=wide \
            --set index.path=out/$m.wide1.ann
        cmp out/$m.wide.ann out/$m.wide1.ann ||
            fail "$m: wide index at $AF_NP ranks differs from 1 rank"
    fi
    grep -q "^node_format: annoy-int64$" out/$m.wide.ann.meta || fail "$m: meta lacks annoy-int64"
    af "$AF_NP" validate out/$m.wide.ann --strict --quiet >v.out 2>&1 ||
        fail "$m: validate --strict on the wide index: $(cat v.out)"
    af 1 build --config job.ini "${common[@]}" --set index.format=narrow \
        --set index.path=out/$m.narrow.ann
    [ "$(stat -c %s out/$m.wide.ann)" -gt "$(stat -c %s out/$m.narrow.ann)" ] ||
        fail "$m: the wide index is not larger than the narrow one"
    for f in wide narrow; do
        af "$AF_NP" query --config job.ini --quiet --set index.path=out/$m.$f.ann \
            --set query.search_k=600 --set output.index=out/$m.$f.ids.desc \
            --set output.distance=out/$m.$f.d.desc
    done
    cmp out/$m.wide.ids.bin out/$m.narrow.ids.bin && cmp out/$m.wide.d.bin out/$m.narrow.d.bin ||
        fail "$m: the wide index answers differently from the narrow one"
    af "$AF_NP" query --config job.ini --quiet --set index.path=out/$m.wide.ann \
        --set query.search_k=$everything --set output.index=out/$m.all.ids.desc \
        --set output.distance=out/$m.all.d.desc
    ./annoy_wide $m $dim out/$m.wide.ann query.f32 $nq 10 $everything 7 >annoy.txt ||
        fail "$m: Annoy (int64 ids) could not read the wide index"
    Rscript - "$m" "$n" "$((trees * shards))" <<'R' || fail "$m: Annoy (int64 ids) disagrees"
suppressMessages(library(bigmemory))
a <- commandArgs(TRUE); n <- as.integer(a[2]); t <- as.integer(a[3])
lines <- readLines("annoy.txt")
head <- scan(text = lines[1], what = "", quiet = TRUE)
stopifnot(as.integer(head[2]) == n, as.integer(head[4]) == t)
row8 <- readBin("row8.f32", "double", size = 4, n = 1000)
stopifnot(all(scan(text = lines[2], quiet = TRUE) == row8))  # item 7 = row 8, 0-based
res <- do.call(rbind, lapply(lines[-(1:2)], function(l) scan(text = l, quiet = TRUE)))
ids <- attach.big.matrix(sprintf("out/%s.all.ids.desc", a[1]))[, ]
d <- attach.big.matrix(sprintf("out/%s.all.d.desc", a[1]))[, ]
if (!identical(res[, 1:10] + 1, ids + 0)) stop("ids differ")
if (any(abs(res[, 11:20] - d) > 1e-4 * pmax(1, abs(d)))) stop("distances differ")
R
done
echo "wide format at $AF_NP ranks: ok"
