#!/usr/bin/env bash
# Benchmarks; the numbers quoted in issue notes come from here.
set -euo pipefail
cd "$(dirname "$0")/.."

# BENCH_ONLY=float,int8 runs only those sections (go, pipeline, float, int8, decode); all by default.
want() { [ -z "${BENCH_ONLY:-}" ] || [[ ",$BENCH_ONLY," == *",$1,"* ]]; }

# median_range X...: "median M (range LO-HI)" of the numbers given (the upper middle for an even count).
median_range() {
  printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {printf "median %.2f (range %.2f-%.2f)", v[int(NR / 2) + 1], v[1], v[NR]}'
}
# Every package's benchmarks except the end-to-end pipeline one, which has its own section below.
if want go; then
  go test -run '^$' -bench . -benchmem $(go list ./... | grep -v '/e2e/clients$')
fi

# The pipeline end to end: 10,000 small photos dropped into a provisioned local stack with Go's
# storage client, every result message and summary counted on a fresh subscription (none lost or
# duplicated). Reports wall time (first upload to last summary), images/s, upload time, runs, and
# the peak RSS of the stack's process and of the stack plus its VM processes. One iteration;
# CSPIPE_BENCH_PHOTOS changes the count.
if want pipeline; then
  printf '\nPipeline end to end (cspipe local stack)\n'
  go test -run '^$' -bench LocalUpPhotos -benchtime 1x -timeout 60m ./e2e/clients
fi

# Inference engine next to ONNX Runtime on the same weights, in the same run. Random-weight models
# from internal/inference/modelgen (seed 1, 1001 classes): MobileNet V1 1.0@128, MobileNet V3-Large
# 1.0@224, ResNet-50 V1 @224. For each, batch 1 on 1 thread (latency) and batch 8 on 2 threads
# (throughput); ours with the best kernels (avx512 here), ours capped at AVX2 (CSPIPE_KERNELS=avx2),
# and ORT (onnxruntime-node, graph optimizations 'all'); ours and ORT run back to back, taking turns
# at going first. Rounds are interleaved (BENCH_ROUNDS,
# default 3); each row is one round, in which each engine reports the median of BENCH_SUBROUNDS
# (default 3) parts of its run (cspipe bench --rounds; bench_ort.js's rounds), so both are
# measured by the same statistic. After the rows, the median ratio over the rounds and its range.
# ratio = our img/s over ORT's (above 1: we are faster);
# cpu ratio = ORT's CPU ms per image over ours, which moves less when other jobs share the machine.
# fma = our multiply-adds per CPU second over one core's FMA peak (the model's multiply-adds as written:
# a 3x3 layer run as Winograd counts its direct convolution's, so this is an effective rate; measured first, best of three, then
# raised by any higher reading from the runs themselves; the highest is printed at the end).
# The load average is printed with each table: on a shared machine the absolute numbers move.
engine_vs_ort() {
  local tmp rounds=${BENCH_ROUNDS:-3} dur=${BENCH_DURATION:-2s} sub=${BENCH_SUBROUNDS:-3}
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  go build -o "$tmp/cspipe" ./cmd/cspipe
  local models=("v1 1.0 128" "v3-large 1.0 224" "resnet50-v1 1.0 224")
  for m in "${models[@]}"; do
    set -- $m
    go run ./internal/inference/modelgen/cmd/genmodel --arch "$1" --width "$2" --size "$3" --classes 1001 --seed 1 \
      --out "$tmp/$1.tflite" --onnx "$tmp/$1.onnx"
  done
  # The best of three measurements: another job on the core only ever lowers it.
  local peak=0 p
  for _ in 1 2 3; do
    p=$("$tmp/cspipe" bench --model "$tmp/v1.tflite" --batch 1 --threads 1 --duration 100ms --json |
      sed -E 's/.*"peak_macs_per_core":([0-9.e+]+).*/\1/')
    peak=$(awk -v a="$peak" -v b="$p" 'BEGIN {print (b > a) ? b : a}')
  done
  printf '\nFMA peak per core: %s\n' "$(awk -v p="$peak" -v k="$("$tmp/cspipe" bench --model "$tmp/v1.tflite" --duration 10ms --json |
    sed -E 's/.*"kernels":"([a-z0-9]+)".*/\1/')" 'BEGIN {printf "%.1f GMAC/s (%.1f GFLOP/s) on %s", p / 1e9, 2 * p / 1e9, k}')"
  local field='function f(s, k) { if (match(s, "\"" k "\":[0-9.e+-]+")) { v = substr(s, RSTART, RLENGTH); sub(/.*:/, "", v); return v } return 0 }'
  for m in "${models[@]}"; do
    set -- $m
    local -A ratios=([1]="" [8]="")
    printf '\n%s %s@%s (load average %s)\n' "$1" "$2" "$3" "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf '%-22s %9s %8s %8s %5s | %9s %8s | %9s %8s %8s | %6s %6s\n' "" "ours i/s" "ms/img" "cpu-ms" "fma" \
      "avx2 i/s" "ms/img" "ORT i/s" "ms/img" "cpu-ms" "ratio" "cpu-r"
    for round in $(seq "$rounds"); do
      for cfg in "1 1" "8 2"; do
        set -- $m $cfg
        local ours avx2 ort
        # Ours and ORT back to back, taking turns at going first, so that a slow spell of the
        # host falls on both engines as often; the AVX2 run comes after them.
        if ((round % 2)); then
          ours=$("$tmp/cspipe" bench --model "$tmp/$1.tflite" --batch "$4" --threads "$5" --duration "$dur" --rounds "$sub" --json)
          ort=$(node tools/oracle/bench_ort.js "$tmp/$1.onnx" "$4" "$5" "$sub")
        else
          ort=$(node tools/oracle/bench_ort.js "$tmp/$1.onnx" "$4" "$5" "$sub")
          ours=$("$tmp/cspipe" bench --model "$tmp/$1.tflite" --batch "$4" --threads "$5" --duration "$dur" --rounds "$sub" --json)
        fi
        avx2=$(CSPIPE_KERNELS=avx2 "$tmp/cspipe" bench --model "$tmp/$1.tflite" --batch "$4" --threads "$5" --duration "$dur" --rounds "$sub" --json)
        # Each run measures the peak again; the share uses the highest seen so far, so one
        # measurement slowed by another job (or the host) cannot inflate it.
        p=$(sed -E 's/.*"peak_macs_per_core":([0-9.e+]+).*/\1/' <<<"$ours")
        peak=$(awk -v a="$peak" -v b="$p" 'BEGIN {print (b > a) ? b : a}')
        local line
        line=$(awk -v o="$ours" -v a="$avx2" -v r="$ort" -v peak="$peak" -v label="batch $4, $5 thread(s)" "$field"'
          BEGIN {
            oi = f(o, "img_per_s"); om = f(o, "ms_per_img"); oc = f(o, "cpu_ms_per_img"); fs = f(o, "macs_per_img") / (oc / 1000 * peak)
            ai = f(a, "img_per_s"); am = f(a, "ms_per_img")
            ri = f(r, "img_per_s"); rm = f(r, "ms_per_img"); rc = f(r, "cpu_ms_per_img")
            printf "%-22s %9.1f %8.2f %8.2f %4.0f%% | %9.1f %8.2f | %9.1f %8.2f %8.2f | %6.2f %6.2f\n", label, oi, om, oc, 100 * fs, ai, am, ri, rm, rc, oi / ri, rc / oc
          }')
        printf '%s\n' "$line"
        ratios[$4]+=" $(awk '{print $(NF-1)}' <<<"$line")"
      done
    done
    for b in 1 8; do
      printf '%-22s ratio over %d rounds: %s\n' "batch $b" "$rounds" "$(median_range ${ratios[$b]})"
    done
  done
  printf '\nFMA peak per core, highest seen: %s GMAC/s\n' "$(awk -v p="$peak" 'BEGIN {printf "%.1f", p / 1e9}')"
}
if want float; then engine_vs_ort; fi

# Int8 next to float and next to ONNX Runtime's int8 on the same weights: MobileNet V1 and V2
# 1.0@128 (seed 1, 1001 classes), their full-integer forms from modelgen.Quantize (genmodel
# --int8-out) and the same int8 model as QDQ ONNX (genmodel --qdq-out --qdq-uint8: UINT8
# activations, INT8 weights, onnxruntime's quantize_static default on x86). Columns: float, int8
# with the best kernels (AMX tiles for the deeper GEMMs where the CPU allows, AVX-512 VNNI), int8 with CSPIPE_KERNELS=avx2 (the int8 GEMM then
# runs its portable loop), our int8 read from the QDQ file, ORT running the QDQ file (graph
# optimizations 'all': its QDQ groups fused into QLinear int8 kernels), int8/float throughput and
# ours (QDQ file) over ORT's int8 (above 1: we are faster). Rows and medians as above.
int8_vs_float() {
  local tmp rounds=${BENCH_ROUNDS:-3} dur=${BENCH_DURATION:-2s} sub=${BENCH_SUBROUNDS:-3}
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' RETURN
  go build -o "$tmp/cspipe" ./cmd/cspipe
  local field='function f(s, k) { if (match(s, "\"" k "\":[0-9.e+-]+")) { v = substr(s, RSTART, RLENGTH); sub(/.*:/, "", v); return v } return 0 }'
  for arch in v1 v2; do
    go run ./internal/inference/modelgen/cmd/genmodel --arch "$arch" --width 1.0 --size 128 --classes 1001 --seed 1 \
      --out "$tmp/$arch.tflite" --int8-out "$tmp/$arch-int8.tflite" --qdq-out "$tmp/$arch-int8.onnx" --qdq-uint8
    local -A i8f=([1]="" [8]="") qort=([1]="" [8]="")
    printf '\nint8 %s 1.0@128 (load average %s)\n' "$arch" "$(cut -d' ' -f1-3 /proc/loadavg)"
    printf '%-22s %9s %8s | %9s %8s | %9s %8s | %9s %8s | %9s %8s | %6s %6s\n' "" "float i/s" "ms/img" "int8 i/s" "ms/img" \
      "avx2 i/s" "ms/img" "qdq i/s" "ms/img" "ORT8 i/s" "ms/img" "int8/f" "q/ORT8"
    for round in $(seq "$rounds"); do
      for cfg in "1 1" "8 2"; do
        set -- $cfg
        local fl q qa qo ort
        # The pairs each ratio compares run back to back (float next to int8, our QDQ next to
        # ORT's), the first of each pair taking turns, as above.
        if ((round % 2)); then
          fl=$("$tmp/cspipe" bench --model "$tmp/$arch.tflite" --batch "$1" --threads "$2" --duration "$dur" --rounds "$sub" --json)
          q=$("$tmp/cspipe" bench --model "$tmp/$arch-int8.tflite" --batch "$1" --threads "$2" --duration "$dur" --rounds "$sub" --json)
          qo=$("$tmp/cspipe" bench --model "$tmp/$arch-int8.onnx" --batch "$1" --threads "$2" --duration "$dur" --rounds "$sub" --json)
          ort=$(node tools/oracle/bench_ort.js "$tmp/$arch-int8.onnx" "$1" "$2" "$sub")
        else
          q=$("$tmp/cspipe" bench --model "$tmp/$arch-int8.tflite" --batch "$1" --threads "$2" --duration "$dur" --rounds "$sub" --json)
          fl=$("$tmp/cspipe" bench --model "$tmp/$arch.tflite" --batch "$1" --threads "$2" --duration "$dur" --rounds "$sub" --json)
          ort=$(node tools/oracle/bench_ort.js "$tmp/$arch-int8.onnx" "$1" "$2" "$sub")
          qo=$("$tmp/cspipe" bench --model "$tmp/$arch-int8.onnx" --batch "$1" --threads "$2" --duration "$dur" --rounds "$sub" --json)
        fi
        qa=$(CSPIPE_KERNELS=avx2 "$tmp/cspipe" bench --model "$tmp/$arch-int8.tflite" --batch "$1" --threads "$2" --duration "$dur" --rounds "$sub" --json)
        local line
        line=$(awk -v fl="$fl" -v q="$q" -v qa="$qa" -v qo="$qo" -v r="$ort" -v label="batch $1, $2 thread(s)" "$field"'
          BEGIN {
            fi = f(fl, "img_per_s"); fm = f(fl, "ms_per_img"); qi = f(q, "img_per_s"); qm = f(q, "ms_per_img")
            ai = f(qa, "img_per_s"); am = f(qa, "ms_per_img"); oi = f(qo, "img_per_s"); om = f(qo, "ms_per_img")
            ri = f(r, "img_per_s"); rm = f(r, "ms_per_img")
            printf "%-22s %9.1f %8.2f | %9.1f %8.2f | %9.1f %8.2f | %9.1f %8.2f | %9.1f %8.2f | %6.2f %6.2f\n", label, fi, fm, qi, qm, ai, am, oi, om, ri, rm, qi / fi, oi / ri
          }')
        printf '%s\n' "$line"
        i8f[$1]+=" $(awk '{print $(NF-1)}' <<<"$line")"
        qort[$1]+=" $(awk '{print $NF}' <<<"$line")"
      done
    done
    for b in 1 8; do
      printf '%-22s over %d rounds: int8/f %s, q/ORT8 %s\n' "batch $b" "$rounds" "$(median_range ${i8f[$b]})" "$(median_range ${qort[$b]})"
    done
  done
}
if want int8; then int8_vs_float; fi

# Decode + resize of the codelab's sample photos (224x224 target): Go's image/jpeg next to our
# exact decoder (libjpeg-turbo-identical pixels) and the fast DC-domain mode, with CPU time,
# allocation, the tensor difference between paths and libjpeg-turbo's djpeg (whole decode);
# then one row per other format (arithmetic-coded JPEG, streamed PNG, WebP, GIF, BMP) made from
# the first photo.
photos=../shared/testdata/sample_images
if ! want decode; then
  :
elif [ -d "$photos" ]; then
  printf '\nDecode + resize of the sample photos\n'
  go run ./cmd/cspipe bench --decode --repeat 3 "$photos"/*.jpeg
else
  echo "bench: $photos not found; decode benchmark skipped" >&2
fi
