#!/usr/bin/env bash
# A/B benchmark of the JPEG decoder: the jpegdec package at a base revision (default HEAD) against
# the working tree, both running the working tree's benchmarks, interleaved round by round (the
# order alternates) so both meet the same machine load. Prints the median and the spread of each
# benchmark's CPU ms per decode for A and B, and B's median and minimum over A's (other jobs on
# the cores only ever add time, so the minimum is the steadier one on a busy machine). Run it
# with A = B first to see the noise floor at the current load.
#
#   bash scripts/jpegdec-ab.sh [BASE_REV] [ROUNDS]          (ROUNDS default 9)
#   BENCH='SamplePhotos' BENCHTIME=3x bash scripts/jpegdec-ab.sh main 15
#
# BENCH is the -bench pattern (default SamplePhotos: the exact decode of the sample photos at a
# 224×224 resize's samples); BENCHTIME the decodes per round and benchmark (default 3x).
#
# With COUNT=1 (needs valgrind) it instead runs each benchmark once per build under cachegrind
# and prints instructions and simulated branch mispredictions: machine load does not move
# those, so they show a change of 1 % when the timings cannot (they miss cache and latency
# effects, so confirm a gain in time as well).
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-HEAD}
rounds=${2:-9}
bench=${BENCH:-SamplePhotos}
benchtime=${BENCHTIME:-3x}
pkg=internal/inference/jpegdec
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A: the package as it was at base, with the working tree's benchmark file (which uses only the
# package's public API), built as its own module (the package imports nothing of this one) with
# this one's requirements (golang.org/x/sys/cpu picks the assembly).
mkdir -p "$tmp/a"
git archive "$base" "$pkg" | tar -x -C "$tmp/a"
cp "$pkg/bench_test.go" "$tmp/a/$pkg/"
sed 's/^module .*/module jpegdecab/' go.mod >"$tmp/a/go.mod"
cp go.sum "$tmp/a/go.sum"
(cd "$tmp/a/$pkg" && CGO_ENABLED=0 go test -c -trimpath -o "$tmp/A.test" .)
CGO_ENABLED=0 go test -c -trimpath -o "$tmp/B.test" "./$pkg"

if [[ ${COUNT:-} == 1 ]]; then
  photos=$(cd "$pkg" && "$tmp/B.test" -test.run '^$' -test.bench "$bench" -test.benchtime 1x -test.count 1 |
    awk '/^Benchmark/ { sub(/-[0-9]+$/, "", $1); print $1 }')
  printf '%-40s %15s %15s %8s %13s %13s %8s\n' "one run of the benchmark (setup included)" "A instr" "B instr" "B/A" "A mispred" "B mispred" "B/A"
  for p in $photos; do
    for ab in A B; do
      (cd "$pkg" && valgrind --tool=cachegrind --cache-sim=no --branch-sim=yes --cachegrind-out-file=/dev/null \
        "$tmp/$ab.test" -test.run '^$' -test.bench "^$p\$" -test.benchtime 1x -test.count 1 2>&1 >/dev/null) |
        awk -v ab="$ab" '/I *refs:/ { gsub(/,/, "", $NF); ir = $NF } /Mispredicts:/ { gsub(/,/, "", $3); bm = $3 } END { print ir, bm }' >"$tmp/cg.$ab"
    done
    read -r ia ma <"$tmp/cg.A"
    read -r ib mb <"$tmp/cg.B"
    awk -v p="$p" -v ia="$ia" -v ib="$ib" -v ma="$ma" -v mb="$mb" 'BEGIN { printf "%-40s %15.0f %15.0f %8.3f %13.0f %13.0f %8.3f\n", p, ia, ib, ib / ia, ma, mb, mb / ma }'
  done
  exit 0
fi

run() { (cd "$pkg" && "$tmp/$1.test" -test.run '^$' -test.bench "$bench" -test.benchtime "$benchtime" -test.count 1) |
  awk -v ab="$1" '/^Benchmark/ { for (i = 3; i < NF; i++) if ($(i+1) == "cpu-ms/op") print ab, $1, $i }' >>"$tmp/results"; }
echo "A = $base, B = working tree; $rounds rounds of -bench '$bench' -benchtime $benchtime; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$rounds"); do
  if ((r % 2)); then run A; run B; else run B; run A; fi
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
sort -k2,2 -k1,1 -k3,3n "$tmp/results" | awk '
  function med(a, n) { return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  { key = $2; if (!(key in seen)) { seen[key] = 1; order[++nk] = key }
    if ($1 == "A") a[key, ++na[key]] = $3; else b[key, ++nb[key]] = $3 }
  END {
    printf "%-40s %22s %22s %8s %8s\n", "cpu-ms/op: median (min-max)", "A", "B", "B/A med", "B/A min"
    for (k = 1; k <= nk; k++) {
      key = order[k]; delete x; delete y
      for (i = 1; i <= na[key]; i++) x[i] = a[key, i]
      for (i = 1; i <= nb[key]; i++) y[i] = b[key, i]
      ma = med(x, na[key]); mb = med(y, nb[key])
      printf "%-40s %8.1f (%5.1f-%5.1f) %8.1f (%5.1f-%5.1f) %8.3f %8.3f\n", key, ma, x[1], x[na[key]], mb, y[1], y[nb[key]], mb / ma, y[1] / x[1]
    }
  }'
