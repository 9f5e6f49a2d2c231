#!/bin/sh
# Regenerates the small JPEG fixtures from source.ppm with libjpeg-turbo's cjpeg
# (Debian package libjpeg-turbo-progs). Run from this directory.
set -eu
c() { out=$1; shift; cjpeg "$@" -outfile "$out" source.ppm; }
c baseline_420.jpg -quality 85
c baseline_444.jpg -quality 85 -sample 1x1
c baseline_422.jpg -quality 85 -sample 2x1
c baseline_440.jpg -quality 85 -sample 1x2
c grey.jpg -quality 85 -grayscale
c optimized_420.jpg -quality 90 -optimize
c restart_420.jpg -quality 85 -restart 2B
c restart_rows_444.jpg -quality 85 -sample 1x1 -restart 1
c progressive_420.jpg -quality 85 -progressive
c progressive_444.jpg -quality 95 -progressive -sample 1x1
c progressive_grey.jpg -quality 85 -progressive -grayscale
c progressive_restart_420.jpg -quality 85 -progressive -restart 3B
c quant16_420.jpg -quality 3
c arithmetic.jpg -quality 85 -arithmetic
# Lossless re-encodings: the same coefficients as their sources, so decodes must be identical.
jpegtran -progressive -restart 3B -outfile progressive_restart_420.jpg baseline_420.jpg
jpegtran -progressive -outfile transcoded_progressive_444.jpg baseline_444.jpg
jpegtran -restart 1 -optimize -outfile transcoded_restart_422.jpg baseline_422.jpg
# What libjpeg-turbo (TensorFlow's JPEG decoder) makes of them at default settings.
for f in baseline_420 baseline_422 baseline_440 baseline_444 grey progressive_420 quant16_420 optimized_420; do
	djpeg -ppm -outfile "$f.libjpeg.ppm" "$f.jpg"
done
# Tiny images: libjpeg replicates chroma that is at most two samples wide.
for src in tiny4x21 tiny5x3; do
	for s in 2x2 2x1 1x2; do
		cjpeg -quality 90 -sample "$s" -outfile "${src}_$s.jpg" "$src.ppm"
		djpeg -ppm -outfile "${src}_$s.libjpeg.ppm" "${src}_$s.jpg"
	done
done
# Layouts beyond the common ones (fuzz seeds; the djpeg comparisons encode theirs at test time).
c arith_progressive_411.jpg -quality 85 -arithmetic -progressive -sample 4x1
c arith_restart_1x4.jpg -quality 85 -arithmetic -restart 2B -sample 1x4
c mixed_221112.jpg -quality 85 -sample 2x2,2x1,1x2
# cmyk_adobe.jpg and ycck_2x2.jpg come from the test-only encoder in encoder_test.go (cjpeg cannot
# write four components): 20x12, Adobe transform 0 (CMYK) and 2 (YCCK, 2x2 luma and K).
