# The bad-input table: bad ID RANKS SETUP COMMAND PATTERN
#   RANKS    all: run at the test's rank count (1, 2 or 4); 1: only in the 1-rank run (rank 0
#            alone does that work, e.g. parsing the config)
#   SETUP    bash run in the case's directory first (job.ini there reads $D/ref.desc,
#            $D/query.desc and $D/ref.ann, and writes out/ids.desc + out/dist.desc)
#   COMMAND  af_np ARGS (annforest at the rank count), "$ANNFOREST" ARGS (one process), or
#            as_nobody bash -c '...' (an unprivileged user: root reads and writes everything)
#   PATTERN  grep -E for the one message: it names the file, key or row.
# $D is the fixtures' directory (fixtures.sh). Every case must also leave out/ unchanged.
Q='af_np query --config job.ini --quiet'
B='af_np build --config job.ini --quiet --set index.path=out/new.ann'
X='af_np exact --config job.ini --quiet'
nested=$(printf 'new(%.0s' $(seq 1 5000))

## Descriptors: malformed, truncated, hostile
bad desc_truncated 1 'head -c 150 $D/ref.desc > cut.desc' \
    "$Q --set query.path=cut.desc" 'cut\.desc:[0-9]+: malformed R descriptor'
bad desc_nesting 1 "echo '$nested' > deep.desc" \
    "$Q --set query.path=deep.desc" 'deep\.desc:1: malformed R descriptor: nesting too deep'
bad desc_nrow_mismatch 1 'sed "s/nrow = 9,/nrow = 8,/" $D/query.desc > q.desc && cp $D/query.bin .' \
    "$Q --set query.path=q.desc" "q\.desc: bigmemory descriptor says nrow = 8, ncol = 4 but"
bad desc_offset_past 1 'sed "s/rowOffset = c(0, 60)/rowOffset = c(50, 20)/" $D/ref.desc > r.desc' \
    "$B --set reference.path=r.desc" "r\.desc: bigmemory descriptor field 'rowOffset' = c\(50, 20\) reaches past"
bad desc_missing_field 1 'sed "s/totalCols = 4L, //" $D/query.desc > q.desc' \
    "$Q --set query.path=q.desc" "q\.desc: bigmemory descriptor field 'totalCols' is missing"
bad desc_empty_filename 1 'sed "s/filename = \"query.bin\"/filename = \"\"/" $D/query.desc > q.desc' \
    "$Q --set query.path=q.desc" "q\.desc: bigmemory descriptor field 'filename' is empty"
bad desc_backing_missing all 'cp $D/query.desc .' \
    "$Q --set query.path=query.desc" 'query\.desc: cannot open backing file .*query\.bin: No such file'
bad desc_backing_truncated all 'cp $D/ref.desc . && head -c 1000 $D/ref.bin > ref.bin' \
    "$B --set reference.path=ref.desc" 'ref\.desc: backing file .*ref\.bin is truncated: 1000 bytes, but a 60 x 4 double matrix needs 1920'
bad desc_size_overflow 1 'sed "s/60L/4e15/g; s/4L/4e15/; s/c(0, 60)/c(0, 4e15)/; s/c(0, 4)/c(0, 4e15)/; s/nrow = 60, ncol = 4/nrow = 4e15, ncol = 4e15/" $D/ref.desc > r.desc' \
    "$B --set reference.path=r.desc" 'r\.desc: a 4000000000000000 x 4000000000000000 double matrix is too large'
bad desc_separated_column all 'sed "s/separated = FALSE/separated = TRUE/" $D/query.desc > q.desc && head -c 72 $D/query.bin > query.bin_column_0' \
    "$Q --set query.path=q.desc" 'q\.desc: cannot open backing file .*query\.bin_column_1'
bad desc_rds 1 'printf "\037\213\010\000\000\000" > q.desc' \
    "$Q --set query.path=q.desc" 'q\.desc is a gzip-compressed binary R file'
bad native_negative_rows 1 'printf "annforest-matrix: 1\nfile: x.dat\nrows: -5\ncols: 4\ntype: double\n" > n.afm' \
    "$Q --set query.path=n.afm" "n\.afm:3: bad value '-5' for 'rows'"
bad native_rows_overflow 1 'printf "annforest-matrix: 1\nfile: x.dat\nrows: 99999999999999999999\ncols: 4\ntype: double\n" > n.afm' \
    "$Q --set query.path=n.afm" "n\.afm:3: bad value '99999999999999999999' for 'rows'"
bad native_size_overflow 1 'printf "annforest-matrix: 1\nfile: x.dat\nrows: 4294967296\ncols: 4294967296\ntype: double\n" > n.afm' \
    "$Q --set query.path=n.afm" 'n\.afm: a 4294967296 x 4294967296 double matrix is too large'
bad native_offset_overflow 1 'printf "annforest-matrix: 1\nfile: x.dat\nrows: 9\ncols: 4\ntype: double\noffset: 18446744073709551600\n" > n.afm' \
    "$Q --set query.path=n.afm" 'n\.afm: a 9 x 4 double matrix is too large'
bad native_unknown_type 1 'printf "annforest-matrix: 1\nfile: x.dat\nrows: 9\ncols: 4\ntype: complex\n" > n.afm' \
    "$Q --set query.path=n.afm" "n\.afm:5: bad value 'complex' for 'type'"
bad native_duplicate_key 1 'printf "annforest-matrix: 1\nfile: x.dat\nrows: 9\nrows: 10\ncols: 4\ntype: double\n" > n.afm' \
    "$Q --set query.path=n.afm" "n\.afm:4: .*rows"
bad native_version 1 'printf "annforest-matrix: 2\nfile: x.dat\nrows: 9\ncols: 4\ntype: double\n" > n.afm' \
    "$Q --set query.path=n.afm" "n\.afm:1: native matrix descriptor version '2'"
bad native_backing_directory 1 'mkdir x.dat && printf "annforest-matrix: 1\nfile: x.dat\nrows: 9\ncols: 4\ntype: double\n" > n.afm' \
    "$Q --set query.path=n.afm" 'n\.afm: backing file .*x\.dat is not a regular file'

## Job configs
bad cfg_unknown_section 1 'sed -i "s/^\[job\]/[jobs]/" job.ini' \
    "$Q" 'job\.ini:1: .*\[jobs\]'
bad cfg_unknown_key 1 'sed -i "s/^trees = 3/tress = 3/" job.ini' \
    "$Q" 'job\.ini:8: .*tress'
bad cfg_bad_metric 1 'sed -i "s/^trees = 3/metric = cosine/" job.ini' \
    "af_np build --config job.ini --quiet --set index.path=out/new.ann" "job\.ini:[0-9]+: .*metric.*cosine"
bad cfg_missing_output all 'sed -i "/^index = out/d" job.ini' \
    "$Q" 'job\.ini.*output.*index'
bad cfg_syntax 1 'echo "this is not ini" >> job.ini' \
    "$Q" "job\.ini:[0-9]+: cannot parse 'this is not ini'"
bad cfg_nul_byte 1 'printf "[job]\nseed = 1\000\n" > job.ini' \
    "$Q" 'job\.ini:2: contains a NUL byte'
bad cfg_missing_file 1 '' \
    'af_np query --config nope.ini' "cannot open config 'nope\.ini'"
bad cfg_directory 1 'mkdir adir' \
    'af_np query --config adir' "config 'adir': Is a directory"
bad cfg_set_malformed 1 '' \
    "$Q --set query.k" "--set 'query\.k': expected section\.key=value"
bad k_zero 1 '' "$Q --set query.k=0" "query\.k = '0': must be between 1"
bad k_negative 1 '' "$Q --set query.k=-3" "query\.k = '-3': must be between 1"
bad k_too_large 1 '' "$Q --set query.k=2147483648" "query\.k = '2147483648': must be between 1"
bad k_in_file 1 'sed -i "s/^k = 4/k = 0/" job.ini' "$Q" "job\.ini:12: \[query\] k = '0'"
bad search_k_zero 1 '' "$Q --set query.search_k=0" "query\.search_k = '0'"
bad batch_zero 1 '' "$Q --set query.batch=0" "query\.batch = '0'"
bad base_two 1 '' "$Q --set output.base=2" "output\.base = '2'"
bad output_extension all '' "$Q --set output.index=out/ids.txt" 'out/ids\.txt: an output matrix is NAME\.desc'
bad output_row_bigmemory 1 '' "$Q --set output.order=row" 'output.*order.*bigmemory'

## Shapes that do not match
bad query_width all '' "$Q --set query.path=\$D/wide.desc" 'wide\.desc has 7 columns but index .*ref\.ann has 4'
bad exact_width 1 '' "$X --set query.path=\$D/wide.desc" 'wide\.desc.*7 columns.*4'
bad into_wrong_shape all 'cp $D/small.desc $D/small.bin out/' \
    "$Q --set output.existing=into --set output.index=out/small.desc --set output.distance=" \
    'out/small\.desc: existing matrix is 9 x 3, but the output is 9 x 4'
bad into_wrong_type all 'cp $D/chars.desc $D/chars.bin out/' \
    "$Q --set output.existing=into --set output.index=out/chars.desc --set output.distance=" \
    "out/chars\.desc: existing matrix has type 'byte', which cannot receive integer values"
bad into_missing 1 '' "$Q --set output.existing=into" 'out/(ids|dist)\.desc does not exist \(existing = into'
bad output_exists all 'echo keep > out/dist.desc' "$Q" 'out/dist\.desc already exists'
# 3e9 rows (a sparse file): refused before any work, with the sizes; wide lifts the node-id
# limit, but a shard's rows stay below 2^31
big='truncate -s 3000000000 big.dat && printf "annforest-matrix: 1\nfile: big.dat\nrows: 3000000000\ncols: 1\ntype: raw\n" > big.afm'
bad too_many_node_ids all "$big" "$B --set reference.path=big.afm" \
    'big\.afm: 3000000000 rows with 3 trees in each of [1-4] shards need at least [0-9]+ node ids, more than the 2147483647 an Annoy index .*set index\.format = wide'
bad wide_shard_too_big all "$big" "$B --set reference.path=big.afm --set index.format=wide --set index.shards=1" \
    'shards = .1.: big\.afm: a shard of 3000000000 rows is more than one shard may hold \(2147483646\); use at least 2 shards'

## NA and NaN rows under each na policy (query rows with NA are not errors: NA output rows)
bad na_error_double all '' "$B --set reference.path=\$D/na_ref.desc" 'na_ref\.desc: row 17 holds NA'
bad na_error_integer all '' "$B --set reference.path=\$D/na_int.desc" 'na_int\.desc: row 33 holds NA'
bad na_error_nan_float all '' "$B --set reference.path=\$D/nan_f32.afm" 'nan_f32\.afm: row 41 holds NA'
bad na_skip_every_row all '' "$B --set reference.path=\$D/all_nan.afm --set reference.na=skip" 'all_nan\.afm'
bad na_error_exact all '' "$X --set reference.path=\$D/na_ref.desc" 'na_ref\.desc: row 17 holds NA'

## Index files
bad index_other_metric all '' "$Q --set index.path=\$D/angular.ann --set index.metric=euclidean" \
    'index .*angular\.ann was built with metric angular, the config asks for euclidean'
bad annoy_partial_node 1 'head -c -3 $D/annoy.ann > a.ann' "$Q --set index.path=a.ann" \
    'a\.ann.*[0-9]+ bytes is not a whole number of 32-byte nodes'
bad annoy_empty 1 ': > a.ann' "$Q --set index.path=a.ann" 'a\.ann.*the file is empty'
bad annoy_cycle all "\$AF_PYTHON -c 'import struct,sys; sys.stdout.buffer.write(b\"\".join(struct.pack(\"<iiif4f\",1,0,0,0,i,0,0,0) for i in range(20)) + struct.pack(\"<iiif4f\",20,20,20,0,1,0,0,0))' > a.ann" \
    "$Q --set index.path=a.ann" 'a\.ann.*loop back on themselves'
bad annoy_wrong_dimension 1 '' "$Q --set index.path=\$D/annoy.ann --set query.path=\$D/wide.desc" \
    'annoy\.ann.*not (a whole number|an Annoy index)'
bad index_truncated all 'head -c 4000 $D/ref.ann > i.ann && cp $D/ref.ann.meta i.ann.meta' \
    "$Q --set index.path=i.ann" 'index i\.ann is 4000 bytes but its metadata says'
bad meta_version 1 'cp $D/ref.ann i.ann && sed "s/^metadata_version: 1/metadata_version: 9/" $D/ref.ann.meta > i.ann.meta' \
    "$Q --set index.path=i.ann" 'i\.ann\.meta: metadata_version is 9'
bad meta_garbage 1 'cp $D/ref.ann i.ann && head -c 100 /dev/urandom | base64 -w0 > i.ann.meta' \
    "$Q --set index.path=i.ann" 'i\.ann\.meta'
bad meta_n_ref all 'cp $D/ref.ann i.ann && sed "s/^n_ref: 60$/n_ref: 6000/" $D/ref.ann.meta > i.ann.meta' \
    "$Q --set index.path=i.ann" 'i\.ann\.meta: .*cannot hold 6000 items'
bad meta_shard_offset 1 'cp $D/ref.ann i.ann && sed "s/^shard_node_start: .*/shard_node_start: 9223372036854775807 1/" $D/ref.ann.meta > i.ann.meta' \
    "$Q --set index.path=i.ann" 'i\.ann\.meta.*shard'
bad index_missing 1 '' "$Q --set index.path=out/none.ann" 'index out/none\.ann.*No such file'
bad index_directory 1 'mkdir adir' "$Q --set index.path=adir" 'index adir is not a regular file'
bad index_exists all 'echo keep > out/new.ann' "$B" 'index out/new\.ann already exists'

## Paths: directories, unreadable, read-only, symlinks
bad ref_directory 1 'mkdir adir' "$B --set reference.path=adir" 'adir is a directory'
bad ref_symlink_to_directory 1 'ln -s /tmp adir' "$B --set reference.path=adir" 'adir is a directory'
bad ref_unreadable all 'cp $D/ref.desc . && cp $D/ref.bin . && chmod 600 ref.bin && chmod 777 out' \
    "as_nobody bash -c '$B --set reference.path=ref.desc'" 'ref\.desc: cannot open backing file .*ref\.bin: Permission denied'
bad cfg_unreadable 1 'chmod 600 job.ini' \
    "as_nobody bash -c '$Q'" "cannot open config 'job\.ini': Permission denied"
bad output_read_only_dir all '' \
    "as_nobody bash -c '$Q'" 'out/(ids|dist)\.(bin|desc).*out.*Permission denied'
bad index_read_only_dir all '' \
    "as_nobody bash -c '$B'" 'out/new\.ann.*Permission denied'
bad output_parent_is_file 1 'echo x > out/f' "$Q --set output.index=out/f/ids.desc" 'out/f/ids\.desc: out/f is not a directory'
bad output_symlink_elsewhere 1 'echo victim > ../victim.desc && ln -s ../victim.desc out/ids.desc' \
    "$Q" 'out/ids\.desc already exists'
bad output_dangling_symlink 1 'ln -s /nonexistent/x.desc out/ids.desc' "$Q" 'out/ids\.desc already exists'

## Two jobs, one output: the second is refused while the first holds the output's lock
bad output_locked all 'hold_lock out/dist.desc' "$Q" \
    'out/dist\.desc is being written by another annforest job \(pid [0-9]+ on [^,]+, since'
bad output_lock_symlink all 'ln -s ../elsewhere out/.ids.desc.lock' "$Q" \
    'cannot write out/ids\.desc: its lock file out/\.ids\.desc\.lock is a symbolic link'
bad index_locked all 'hold_lock out/new.ann' "$B" \
    'out/new\.ann is being written by another annforest job \(pid [0-9]+ on'
