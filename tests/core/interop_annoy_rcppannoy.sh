#!/usr/bin/env bash
# Index files written by core/ load in real Annoy (RcppAnnoy) and the other way round.
. "$AF_SRC/tests/lib.sh"
require_r_package RcppAnnoy r-cran-rcppannoy
: "${AF_CORE_TOOL:?AF_CORE_TOOL must name the af_core_tool test driver}"
Rscript "$AF_SRC/tests/core/interop_annoy.R" "$AF_CORE_TOOL" "$AF_TMP" ||
    fail "RcppAnnoy interop"
