# Sourced by the scripts that build from a profile: `train BINARY WORKDIR
# NAME` runs the training workload on an instrumented build, so that the
# profile-guided build and the layout pass learn from the same run. NAME
# names the calling script in the error.

train() {
    local trainee=$1 work=$2 name=$3
    mkdir -p "$work/corpus"
    # The main job: a campaign on the default sim. (Training on every sim
    # instead made the default bench about 7 % slower.) On one job: the
    # instrumented build's counters are not atomic, and two jobs racing on
    # them lose counts; a build trained on a two-job campaign ran about 4 %
    # slower than one trained on a single job.
    if ! "$trainee" fuzz --seeds 0..200 --jobs 1 --corpus "$work/corpus" >/dev/null 2>&1; then
        echo "$name: the training campaign failed; run 'settlesim fuzz --seeds 0..200' to see why" >&2
        exit 1
    fi
    # And the bench, for its bare heap: left untrained, it is compiled as
    # cold code, runs about 10 % slower, and the bench's ratio to it would
    # flatter.
    "$trainee" bench --settlements 2000 --runs 1 >/dev/null
}
