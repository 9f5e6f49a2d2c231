#!/bin/sh
# Regenerates the WebP fixtures from webp_source.png (48x32, partly transparent) with libwebp's
# cwebp (Debian package webp). Run from this directory.
set -eu
cwebp -quiet -q 80 -noalpha webp_source.png -o lossy.webp
cwebp -quiet -q 80 -alpha_q 100 webp_source.png -o lossy_alpha.webp
cwebp -quiet -lossless -exact webp_source.png -o lossless.webp
