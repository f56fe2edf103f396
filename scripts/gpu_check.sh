#!/usr/bin/env bash
# The checks that need a CUDA device, for a host with one (`make gpu-check`):
#   1. the reference-loop tests with gradq and the hand-written loops both on the GPU;
#   2. the embedded stack end to end, where a spec's device "auto" resolves to the GPU;
#   3. the training-overhead benchmark on the GPU.
# Each step's log and the benchmark's results land in the folder given (default gpu-check/).
set -uo pipefail
out=${1:-gpu-check}
python=${PYTHON:-python3}
mkdir -p "$out"
export PYTHONUNBUFFERED=1

if ! "$python" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "gpu-check: torch sees no CUDA device here" >&2
    exit 2
fi
"$python" -c 'import torch; print("torch", torch.__version__, "on", torch.cuda.get_device_name(0))'

failed=()
step() {
    local name=$1
    shift
    echo "== $name"
    if "$@" >"$out/$name.log" 2>&1; then
        tail -n 3 "$out/$name.log"
    else
        failed+=("$name")
        tail -n 40 "$out/$name.log"
    fi
}

step reference-loops env GRADQ_TEST_DEVICE=cuda "$python" -m pytest -q -p no:cacheprovider \
    tests/training/test_reference_loops.py tests/training/test_optimizers.py \
    tests/training/test_schedulers.py tests/training/test_losses.py tests/training/test_resume.py
step embedded-stack env GRADQ_TEST_DEVICE=cuda "$python" -m pytest -q -p no:cacheprovider -k "not postgres" \
    tests/integration/test_e2e.py tests/integration/test_e2e_kinds.py
# BENCH_REPETITIONS=N: fewer rounds per workload, for a short lease
step overhead "$python" -m bench --only overhead --no-postgres --device cuda \
    ${BENCH_REPETITIONS:+--repetitions "$BENCH_REPETITIONS"} --output "$out/bench-cuda.json"

if ((${#failed[@]})); then
    echo "gpu-check failed: ${failed[*]}" >&2
    exit 1
fi
echo "gpu-check passed"
