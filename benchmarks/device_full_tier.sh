#!/usr/bin/env bash
# The full tier's prepared run on a lent GPU machine (issue 14), in one command from the repository root:
#
#     bash benchmarks/device_full_tier.sh            # writes under $OUT (the device tool's), else results/full
#
# 1. installs this checkout without downloads (the machine's image holds the dependencies);
# 2. records the device (nvidia-smi) and calibrates the cost model on it (python -m checks.tiers
#    --calibrate --device cuda: replaces the assumed H200 rates in benchmarks/cost_calibration.json);
# 3. benchmarks the batched path against the per-run loop at the §5 sizes on CUDA (13 seeds, d = 16);
# 4. runs the full tier, `pytest -n $WORKERS --tier full` (default auto, one worker per core: the device
#    lock queues the GPU runs, so a worker waiting for the GPU holds no core's work back and the exact,
#    CPU-only checks spread over the rest; lemma2's take 95-142 s each on one core), its report under
#    $OUT/report, stopped after
#    $FULL_TIMEOUT seconds so a report of what finished is still written.
# Each step's output goes to $OUT/*.log; a failing step does not stop the others.
set -u
OUT=${OUT:-results/full}
WORKERS=${WORKERS:-auto}
FULL_TIMEOUT=${FULL_TIMEOUT:-480}
mkdir -p "$OUT"
python3 -m pip install -q --no-deps --no-build-isolation -e . > "$OUT/install.log" 2>&1
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; git rev-parse HEAD; } > "$OUT/device.txt" 2>&1
python3 -m checks.tiers --calibrate --device cuda --estimate full > "$OUT/estimate.txt" 2>&1 \
    && cp benchmarks/cost_calibration.json "$OUT/cost_calibration.json"
timeout 120 python3 benchmarks/bench_batched.py --device cuda --d 16 --m2 1000 --steps 200 \
    --out "$OUT/bench_batched_cuda.json" > "$OUT/bench_batched.log" 2>&1
CI= timeout --signal=INT "$FULL_TIMEOUT" python3 -m pytest -q -n "$WORKERS" --tier full \
    --report-dir "$OUT/report" --cache-dir "${CACHE_DIR:-/tmp/hierpoly-full-cache}" > "$OUT/pytest.log" 2>&1
echo "exit $? after the full tier; report: $OUT/report" >> "$OUT/pytest.log"
