#!/usr/bin/env bash
# Issue 14's many-core CPU figures, on the GPU machine's 16 Xeon cores (Emerald Rapids; no Swift and no
# libvips there, PyTorch in its Python). Prepared here, run there in one call:
#
#   STYLEFILTER_ENGINE_BENCH=1 swift build -c release --static-swift-stdlib --product stylefilter-bench \
#       --scratch-path .build-enginebench                      # the engine-only bench (no libvips)
#   ../shared/gpu/pack.sh --binary .build-enginebench/release/stylefilter-bench .device-carry
#   device run: bash scripts/device/cpu-cores.sh              (carry .device-carry)
#
# Prints, for 16 and 2 threads, each case's seconds and its ratio to the same run's sgemm, with the kernels
# the bench chose by itself (BLASCore) and, for sgemm, OpenBLAS's own choice; then PyTorch's fp32 and
# bf16 matmul rates on the same cores; on 16 threads also the bf16 engine (precision=bf16) beside fp32.
# Case logs go to $OUT (or /tmp/cpu-cores). About 9-10 minutes. THREAD_COUNTS (default "16 2") picks the
# thread counts, so the script can be rehearsed on a small machine first (THREAD_COUNTS=2). The guided step
# cases need StyleFilter, hence libvips, which the engine-only bench leaves out: a step there is one U-Net and
# one DINO fwd+grad (above) plus the losses and the sampler, which ran at a serial share of 0.2% on 2 cores
# (BENCHMARKS.md).
set -uo pipefail
out=${OUT:-/tmp/cpu-cores}
mkdir -p "$out"
bash .device-carry/unpack.sh
export LD_LIBRARY_PATH=/tmp/dev/lib
bench=/tmp/dev/bin/stylefilter-bench
lscpu | grep -E '^(Model name|CPU\(s\)|Thread)' | tee "$out/cpu.txt"

rows=()
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
# case threads [ENV=VALUE...]: runs one bench case, keeps its log and its result line.
measure() {
    local name=$1 threads=$2
    shift 2
    # sgemm takes no case options.
    [ "$name" != sgemm ] || local case_args=()
    local log="$out/$name-t$threads${1:+-${1#*=}}${case_args[1]:+-${case_args[1]#*=}}.log"
    local line
    line=$(env OPENBLAS_NUM_THREADS="$threads" "$@" timeout 300 "$bench" "$name" "${case_args[@]}" 2>"$log" | tail -1)
    local kernels
    kernels=$(grep -m1 'OpenBLAS kernels' "$log" | sed 's/^OpenBLAS kernels: //')
    rows+=("$threads|$name${case_args[1]:+ ${case_args[1]}}|$kernels|$line")
    echo "$threads threads, $name ($kernels): $line"
}

thread_counts=${THREAD_COUNTS:-16 2}
for threads in $thread_counts; do
    # Medians of 3 runs on 16 threads; one run on 2 (minutes each there; the 2-core machine's own table is
    # in the sections above).
    # On 16 threads one profiled pass more (EngineProfile: serial share, busy share of the threads in
    # multi-threaded loops, GEMM and im2col shares): where the time beyond sgemm's rate goes.
    # On 16 threads the U-Net cases also time each round with the convolutions in their direct form (shifted
    # taps or unfolded), the algorithm before the Winograd forms (speedup_vs_direct): its gain was measured on 2 cores only.
    case_args=(runs=3 profile)
    [ "$threads" = 16 ] || case_args=(runs=1)
    # OpenBLAS's own choice (the bench's choice suppressed), for sgemm only: the slow default users got.
    measure sgemm "$threads" STYLEFILTER_OPENBLAS_CHOSE=unchanged
    measure sgemm "$threads"
    [ "$threads" = 16 ] && case_args+=(reference=direct)
    for name in unet256-fwd unet256-grad; do measure "$name" "$threads"; done
    [ "$threads" = 16 ] && case_args=(runs=3 profile)
    measure dino-b8-grad "$threads"
    case_args=(runs=3)
    # bf16 (AVX512-BF16 kernel), each round also timing fp32 (speedup_vs_fp32).
    if [ "$threads" = 16 ]; then
        case_args=(size=2048 precision=bf16)
        measure matmul "$threads"
        case_args=(runs=2 precision=bf16)
        for name in unet256-fwd unet256-grad dino-b8-grad; do measure "$name" "$threads"; done
    fi
done

# The thread count must not change the bits (AVX-512 kernels; BENCHMARKS.md, "Same bits on any thread count"):
# the U-Net gradient's checksum on 16 and on 2 threads.
checksum() { grep -m1 -o 'checksum [^ ]*' "$1" 2>/dev/null || echo "(not run)"; }
echo "unet256-grad checksum on 16 threads: $(checksum "$out/unet256-grad-t16-profile.log"), on 2: $(checksum "$out/unet256-grad-t2.log")" | tee "$out/same-bits.txt"

# What one multi-threaded loop's hand-off costs (back to back, and after the workers idled 100 us and 1 ms);
# times a profile's parallel_loops it bounds the hand-offs' share of a pass.
for threads in $thread_counts; do
    echo "$threads threads: $(env OPENBLAS_NUM_THREADS="$threads" timeout 60 "$bench" loop-overhead 2>/dev/null | tail -1)"
done | tee "$out/loop-overhead.txt"

python3 - "$out" "$thread_counts" <<'PY' 2>&1 | tee "$out/pytorch.txt"
import sys, time, torch
for threads in map(int, sys.argv[2].split()):
    torch.set_num_threads(threads)
    a = torch.randn(2048, 2048); b = torch.randn(2048, 2048)
    for dtype in (torch.float32, torch.bfloat16):
        x, y = a.to(dtype), b.to(dtype)
        torch.mm(x, y)
        times = []
        for _ in range(5):
            t = time.perf_counter(); torch.mm(x, y); times.append(time.perf_counter() - t)
        s = sorted(times)[2]
        print(f"pytorch {torch.__version__} mm 2048^3 {str(dtype).split('.')[-1]} on {threads} threads: {2 * 2048**3 / s / 1e9:.0f} GFLOP/s")
PY

echo
echo "| threads | case | kernels | seconds | ratio to the run's sgemm | fp32 seconds (same run) | speed-up vs direct convolutions (same run) | serial share | loop busy | loops | GEMM share | im2col share | page faults | peak RSS MB |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for row in "${rows[@]}"; do
    IFS='|' read -r threads name kernels line <<<"$row"
    seconds=$(field seconds "$line")
    ratio=$(field ratio_to_sgemm "$line")
    [ -n "$ratio" ] || ratio=$(field profile_ratio_to_sgemm "$line")
    [ -n "$ratio" ] || ratio=$(field gflops "$line")" GFLOP/s"
    echo "| $threads | $name | $kernels | ${seconds:-?} | ${ratio:-?} | $(field fp32_seconds "$line") | $(field speedup_vs_direct "$line") | $(field serial_share "$line") | $(field parallel_busy "$line") | $(field parallel_loops "$line") | $(field gemm_share "$line") | $(field im2col_share "$line") | $(field page_faults "$line") | $(field peak_rss_mb "$line") |"
done
