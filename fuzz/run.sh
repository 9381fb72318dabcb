#!/usr/bin/env bash
# Builds the libFuzzer targets and runs each for SECONDS (default 60), one after another.
#
#   fuzz/run.sh [SECONDS] [TARGET...]
#
# targets: safetensors torchzip legacy recognisers tokenizer (the Engine's readers, built here) and
# geometry chain images (the pipeline side, built with SwiftPM by fuzz/pipeline/run.sh); default: all.
#
# Crashes, timeouts and out-of-memory inputs go to fuzz/findings/<target>/; the growing corpus to
# fuzz/corpus/<target>/ (both ignored by git). The committed seeds (fuzz/seeds/) and seeds made from
# Tests/Fixtures by fuzz/seedgen start each corpus. Not part of `swift test`.
set -euo pipefail

# Everything is in one function, and the line that calls it exits: bash has read the whole script before it
# runs and reads nothing after it, so editing the script during a long run cannot change what runs.
main() {
    cd "$(dirname "$0")/.."
    local seconds=${1:-60}
    shift || true
    targets=("$@")
    [ ${#targets[@]} -gt 0 ] || targets=(safetensors torchzip legacy recognisers tokenizer geometry chain images)
    pipeline=() readers=()
    for target in "${targets[@]}"; do
        case $target in geometry | chain | images) pipeline+=("$target") ;; *) readers+=("$target") ;; esac
    done
    targets=("${readers[@]}")

    build=fuzz/.build
    mkdir -p "$build"
    blas_include=$(pkg-config --cflags-only-I openblas)
    blas_libs=$(pkg-config --libs-only-L openblas)
    # The Engine's C kernel (CBFloat16) needs a module map where SwiftPM would generate one.
    mkdir -p "$build/CBFloat16"
    printf 'module CBFloat16 {\n    header "%s"\n    export *\n}\n' "$PWD/Sources/CBFloat16/include/bf16_gemm.h" >"$build/CBFloat16/module.modulemap"
    common=(-O -parse-as-library -sanitize=fuzzer,address -I Sources/COpenBLAS -I Sources/CZlib -I "$build/CBFloat16" -Xcc "$blas_include")

    # The Engine once, instrumented, as a static library with its module (internal API visible to the targets
    # through -enable-testing); rebuilt when a source is newer than the library.
    engine_sources=$(find Sources/Engine -name '*.swift' | sort)
    if [ ${#targets[@]} -gt 0 ] && { [ ! -f "$build/libEngine.a" ] || [ -n "$(find Sources/Engine Sources/CBFloat16 fuzz/Support/BundleModule.swift -newer "$build/libEngine.a")" ]; }; then
        echo "building the instrumented Engine library..."
        # shellcheck disable=SC2086
        swiftc "${common[@]}" -enable-testing -module-name Engine -emit-library -static -emit-module \
            -emit-module-path "$build/Engine.swiftmodule" -o "$build/libEngine.a" $engine_sources fuzz/Support/BundleModule.swift
        clang -O2 -fsanitize=address -I Sources/CBFloat16/include -c Sources/CBFloat16/bf16_gemm.c -o "$build/bf16_gemm.o"
        ar rcs "$build/libEngine.a" "$build/bf16_gemm.o"
    fi

    # Seeds made from the fixtures and hand-made hostile variants (deterministic; not instrumented).
    seedgen_sources=(fuzz/seedgen/main.swift Tests/EngineTests/Support/{PickleBuilder,ZipWriter,LegacyTorchWriter,SafeTensorsWriter,TorchZipBuilder}.swift
        Sources/Engine/Checkpoint/{ZipArchive,MappedFile,CheckpointError}.swift)
    if [ ${#targets[@]} -gt 0 ]; then
        if [ ! -x "$build/seedgen" ] || [ -n "$(find "${seedgen_sources[@]}" -newer "$build/seedgen")" ]; then
            swiftc -O -I Sources/CZlib -o "$build/seedgen" "${seedgen_sources[@]}"
        fi
        "$build/seedgen" Tests/Fixtures "$build/seeds"
    fi

    max_len() {
        case $1 in
            safetensors) echo 65536 ;;
            torchzip | recognisers) echo 262144 ;;
            legacy) echo 65536 ;;
            tokenizer) echo 4096 ;;
        esac
    }

    summary=()
    for target in "${targets[@]}"; do
        source=fuzz/targets/$target.swift
        [ -f "$source" ] || { echo "unknown target $target" >&2; exit 64; }
        binary=$build/$target
        if [ ! -x "$binary" ] || [ "$source" -nt "$binary" ] || [ "$build/libEngine.a" -nt "$binary" ] || [ fuzz/Support/FuzzInput.swift -nt "$binary" ]; then
            echo "building $target..."
            # shellcheck disable=SC2086
            # (gold warns about every ASan helper symbol it cannot export; the warnings say nothing about the build)
            swiftc "${common[@]}" -I "$build" -L "$build" -lEngine $blas_libs -lopenblas -lz -o "$binary" "$source" fuzz/Support/FuzzInput.swift \
                2> >(grep -v 'Cannot export local symbol' >&2)
        fi
        corpus=fuzz/corpus/$target
        findings=fuzz/findings/$target
        mkdir -p "$corpus" "$findings"
        seeds=()
        for dir in fuzz/seeds/$target "$build/seeds/$target"; do [ -d "$dir" ] && seeds+=("$dir"); done
        # A dictionary of the format's tokens (pickle opcodes and globals, zip signatures, header keys), if any.
        dict=()
        case $target in
            torchzip) cat fuzz/dictionaries/pickle.dict fuzz/dictionaries/zip.dict >"$build/$target.dict" ;;
            legacy) cp fuzz/dictionaries/pickle.dict "$build/$target.dict" ;;
            safetensors) cp fuzz/dictionaries/safetensors.dict "$build/$target.dict" ;;
            *) rm -f "$build/$target.dict" ;;
        esac
        [ -f "$build/$target.dict" ] && dict=(-dict="$build/$target.dict")
        log=$build/$target.log
        echo "fuzzing $target for $seconds s (log: $log)"
        # -timeout: one input taking 10 s is a hang; -rss_limit_mb: memory a hostile file must not make us take.
        # -fork=1 with -ignore_*: a finding is saved and fuzzing goes on (one worker process, one core).
        "$binary" "$corpus" "${seeds[@]}" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
            -max_len="$(max_len "$target")" -artifact_prefix="$findings/" -print_final_stats=1 "${dict[@]}" \
            -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 >"$log" 2>&1 || true
        # The last status line: "#<executions>: cov: <edges> ft: <features> corp: ... oom/timeout/crash: ..."
        last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
        found=$(find "$findings" -type f | wc -l)
        summary+=("$target: ${last:-no status line}; $found finding(s) in $findings")
    done
    [ ${#pipeline[@]} -eq 0 ] || mapfile -t -O "${#summary[@]}" summary < <(fuzz/pipeline/run.sh "$seconds" "${pipeline[@]}" | grep -E '^(geometry|chain|images): ')
    printf '%s\n' "${summary[@]}"
}

main "$@"; exit
