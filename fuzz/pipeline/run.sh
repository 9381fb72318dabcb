#!/usr/bin/env bash
# Builds the pipeline-side libFuzzer targets with SwiftPM and runs each for SECONDS (default 60):
#
#   fuzz/pipeline/run.sh [SECONDS] [TARGET...]     targets: geometry chain images (default: all)
#
# geometry: the command line's WxH / WxH+X+Y / R,G,B parsers; chain: the `+` chain parsed into stages by
# ArgumentParser and the stage commands (nothing is run); images: decoding through libvips with the
# default limits (copy, or thumbnail_source), encoded to PNG. Findings go to fuzz/findings/<target>/, the
# growing corpus to fuzz/corpus/<target>/ (both ignored by git). Not part of `swift test`.
set -euo pipefail

main() {
    cd "$(dirname "$0")/../.."
    local seconds=${1:-60}
    shift || true
    targets=("$@")
    [ ${#targets[@]} -gt 0 ] || targets=(geometry chain images)
    # SwiftPM's --sanitize takes one at a time (a second replaces the first); -Xswiftc adds ASan everywhere.
    build=(env STYLEFILTER_FUZZ=1 swift build -c release --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing
        --scratch-path .build-fuzz)
    summary=()
    for target in "${targets[@]}"; do
        case $target in
            geometry) product=FuzzGeometry; max_len=256 ;;
            chain) product=FuzzChain; max_len=1024 ;;
            images) product=FuzzImages; max_len=262144 ;;
            *) echo "unknown target $target" >&2; exit 64 ;;
        esac
        "${build[@]}" --product "$product" 2>&1 | grep -Ev 'Cannot export local symbol|prohibited flag' | tail -2
        corpus=fuzz/corpus/$target findings=fuzz/findings/$target seeds=fuzz/.build/seeds/$target
        mkdir -p "$corpus" "$findings" "$seeds"
        cp fuzz/pipeline/seeds/"$target"/* "$seeds"/ 2>/dev/null || true
        if [ "$target" = images ]; then
            # The samples, and a few formats made from one, each twice: first byte 0 (copy) and 1 (thumbnail).
            for f in samples/*.jpg samples/*.png; do for b in 0 1; do { printf "\\x0$b"; cat "$f"; } >"$seeds/$(basename "$f").$b"; done; done
            for suffix in gif webp tif ppm pfm; do
                vips thumbnail samples/chelsea.png "$seeds/small.$suffix" 48 >/dev/null 2>&1 && { printf '\x00'; cat "$seeds/small.$suffix"; } >"$seeds/small-$suffix.0" && rm "$seeds/small.$suffix"
            done
        fi
        log=fuzz/.build/$target.log
        mkdir -p fuzz/.build
        echo "fuzzing $target for $seconds s (log: $log)"
        .build-fuzz/release/$product "$corpus" "$seeds" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -max_len="$max_len" \
            -artifact_prefix="$findings/" -print_final_stats=1 -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 >"$log" 2>&1 || true
        last=$(grep -E '^#[0-9]+' "$log" | tail -1 || true)
        summary+=("$target: ${last:-no status line}; $(find "$findings" -type f | wc -l) finding(s) in $findings")
    done
    printf '%s\n' "${summary[@]}"
}

main "$@"; exit
