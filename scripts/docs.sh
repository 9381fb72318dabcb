#!/usr/bin/env bash
# Builds the DocC documentation of StyleFilter and Engine into .build/docs/<Module> with the toolchain's
# docc (no plugin needed); any unresolved link or other warning fails it.
set -euo pipefail
cd "$(dirname "$0")/.."
# It also tries the test bundles, which a plain build does not make; the library modules' graphs are what counts.
swift package dump-symbol-graph --minimum-access-level public > /dev/null 2>&1 || true
graph=$(find .build -path '*symbolgraph/StyleFilter.symbols.json' | head -n 1)
[ -n "$graph" ] || { echo "docs: no symbol graph was written" >&2; exit 1; }
graphs=$(dirname "$graph")
mkdir -p .build/docs
for module in StyleFilter Engine; do
    work=$(mktemp -d)
    cp "$graphs/$module".symbols.json "$graphs/$module"@*.symbols.json "$work/" 2>/dev/null || true
    docc convert "Sources/$module/$module.docc" --additional-symbol-graph-dir "$work" --output-path ".build/docs/$module" \
        --fallback-display-name "$module" --fallback-bundle-identifier "$module" --warnings-as-errors
    rm -rf "$work"
    echo "docs: .build/docs/$module"
done
