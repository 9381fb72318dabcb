#!/usr/bin/env bash
# Regenerates the derived samples from the two photos in this folder with the `vips` CLI (libvips-tools).
# Run from anywhere: bash samples/make-samples.sh. Python 3 (stdlib only) writes the EXIF segment and cuts
# the truncated files, because the vips CLI cannot set an orientation tag.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Small 8-bit base images (160 px wide) so every derived file stays a few kB.
vips thumbnail chelsea.png "$tmp/cat.v" 160
vips thumbnail rocket.jpg "$tmp/rocket.v" 160

# 16-bit RGBA PNG: colour scaled to 16 bit, alpha a left-to-right ramp (transparent -> opaque).
vips colourspace "$tmp/cat.v" "$tmp/cat16.v" rgb16
w=$(vipsheader -f width "$tmp/cat16.v"); h=$(vipsheader -f height "$tmp/cat16.v")
vips grey "$tmp/ramp.v" "$w" "$h"
vips linear "$tmp/ramp.v" "$tmp/alpha.v" 65535 0
vips cast "$tmp/alpha.v" "$tmp/alpha16.v" ushort
vips bandjoin "$tmp/cat16.v $tmp/alpha16.v" "$tmp/rgba16.v"
vips copy "$tmp/rgba16.v" rgba16.png --interpretation rgb16

# Greyscale PNG.
vips colourspace "$tmp/cat.v" grey.png b-w

# CMYK JPEG, made with libvips' built-in CMYK profile. That profile is ~1 MB, so it is
# stripped: readers fall back to a generic CMYK conversion, which is what this case tests.
vips icc_export "$tmp/rocket.v" "cmyk.jpg[Q=85,strip]" --output-profile cmyk

# EXIF orientation 6 ("rotate 90 clockwise to display"): the stored pixels are the upright image turned
# 90 degrees anticlockwise, so a viewer that honours the tag shows it upright (160 wide, 107 high).
vips rot "$tmp/rocket.v" "$tmp/rocket-stored.v" d270
vips copy "$tmp/rocket-stored.v" "$tmp/stored.jpg[Q=85,strip]"
python3 - "$tmp/stored.jpg" orientation6.jpg <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
assert data[:2] == b"\xff\xd8"
# Minimal little-endian TIFF header with one IFD0 entry: Orientation (0x0112), SHORT, count 1, value 6.
tiff = b"II*\x00" + struct.pack("<I", 8) + struct.pack("<H", 1)
tiff += struct.pack("<HHIHH", 0x0112, 3, 1, 6, 0) + struct.pack("<I", 0)
payload = b"Exif\x00\x00" + tiff
app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
open(sys.argv[2], "wb").write(data[:2] + app1 + data[2:])
PY

# Truncated files: a JPEG and a PNG cut to 60% of their length.
vips copy "$tmp/rocket.v" "$tmp/full.jpg[Q=85]"
vips copy "$tmp/cat.v" "$tmp/full.png"
python3 - "$tmp/full.jpg" truncated.jpg "$tmp/full.png" truncated.png <<'PY'
import sys
for src, dst in ((sys.argv[1], sys.argv[2]), (sys.argv[3], sys.argv[4])):
    data = open(src, "rb").read()
    open(dst, "wb").write(data[: len(data) * 6 // 10])
PY

ls -l rgba16.png grey.png cmyk.jpg orientation6.jpg truncated.jpg truncated.png
