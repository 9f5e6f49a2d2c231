#!/usr/bin/env bash
# Benchmarks; the numbers quoted in issue notes come from here.
set -euo pipefail
cd "$(dirname "$0")/.."
# Every package's benchmarks except the end-to-end pipeline one, which has its own section below.
go test -run '^$' -bench . -benchmem $(go list ./... | grep -v '/e2e/clients$')

# The pipeline end to end: 10,000 small photos dropped into a provisioned local stack with Go's
# storage client, every result message and summary counted on a fresh subscription (none lost or
# duplicated). Reports wall time (first upload to last summary), images/s, upload time, runs, and
# the peak RSS of the stack's process and of the stack plus its VM processes. One iteration;
# CSPIPE_BENCH_PHOTOS changes the count.
printf '\nPipeline end to end (cspipe local stack)\n'
go test -run '^$' -bench LocalUpPhotos -benchtime 1x -timeout 60m ./e2e/clients

# Inference engine next to ONNX Runtime on the same weights, in the same run:
# MobileNet V1 1.0@128, 1001 classes, random weights from internal/inference/modelgen (seed 1; the Go
# benchmark builds the identical model in memory). Three interleaved rounds; each row is one round.
# ratio = our img/s / ORT img/s (above 1: we are faster). cpu-ms/img is CPU time per image, which
# moves less than wall time when other jobs share the machine.
engine_vs_ort() {
  local tmp rounds=${BENCH_ROUNDS:-3}
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  go run ./internal/inference/modelgen/cmd/genmodel --arch v1 --width 1.0 --size 128 --classes 1001 --seed 1 \
    --out "$tmp/v1.tflite" --onnx "$tmp/v1.onnx"
  local threads
  printf '\n%-28s %10s %9s %11s | %10s %9s %11s | %6s\n' "MobileNetV1 1.0@128" "ours img/s" "ms/img" "cpu-ms/img" "ORT img/s" "ms/img" "cpu-ms/img" "ratio"
  for _ in $(seq "$rounds"); do
    go test -run '^$' -bench 'MobileNetV1_128' -benchtime "${BENCH_ITERS:-100}x" ./internal/inference/tflite >"$tmp/go.txt"
    threads=$(sed -nE 's/.*batch8_threads([0-9]+).*/\1/p' "$tmp/go.txt" | head -1)
    for cfg in "1 1" "8 $threads"; do
      set -- $cfg
      local ours ort
      ours=$(awk -v name="batch$1_threads$2" '$1 ~ name {for (i = 1; i <= NF; i++) {if ($(i+1) == "img/s") a = $i; if ($(i+1) == "ms/img") b = $i; if ($(i+1) == "cpu-ms/img") c = $i}; print a, b, c}' "$tmp/go.txt")
      ort=$(node tools/oracle/bench_ort.js "$tmp/v1.onnx" "$1" "$2" 3 | sed -E 's/.*"img_per_s":([0-9.]+).*"ms_per_img":([0-9.]+).*"cpu_ms_per_img":([0-9.]+).*/\1 \2 \3/')
      set -- $cfg $ours $ort
      printf '%-28s %10.1f %9.2f %11.2f | %10.1f %9.2f %11.2f | %6.2f\n' "batch $1, $2 thread(s)" "$3" "$4" "$5" "$6" "$7" "$8" "$(awk -v a="$3" -v b="$6" 'BEGIN {print a / b}')"
    done
  done
}
engine_vs_ort

# Decode + resize of the codelab's sample photos (224x224 target): Go's image/jpeg next to our
# exact decoder (libjpeg-turbo-identical pixels) and the fast DC-domain mode, with CPU time,
# allocation and the tensor difference between paths.
photos=../shared/testdata/sample_images
if [ -d "$photos" ]; then
  printf '\nDecode + resize of the sample photos\n'
  go run ./cmd/cspipe bench --decode --repeat 3 "$photos"/*.jpeg
else
  echo "bench: $photos not found; decode benchmark skipped" >&2
fi
