// Per-node profile of ONNX Runtime on a model: runs it with ORT's profiler
// on, reads the JSON trace ORT writes, and prints one line per node in
// execution order: microseconds per image (median over the timed runs),
// share of the summed node time, the op ORT ran (after its graph
// optimizations, e.g. FusedConv) and the node name. With --json it prints
// the same as one JSON object instead.
//
//   node profile_ort.js MODEL.onnx BATCH THREADS [RUNS] [--json]
//
// The trace is written to a fresh temporary directory, removed afterwards.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { session, inputTensor } = require('./ortcommon');

async function main() {
  const args = process.argv.slice(2);
  const asJSON = args.includes('--json');
  const [model, batchArg, threadsArg, runsArg] = args.filter((a) => a !== '--json');
  if (!threadsArg) throw new Error('usage: node profile_ort.js MODEL.onnx BATCH THREADS [RUNS] [--json]');
  const batch = Number(batchArg), threads = Number(threadsArg), runs = Number(runsArg || 100);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ortprof-'));
  try {
    const s = await session(model, threads, 'all', { enableProfiling: true, profileFilePrefix: path.join(dir, 'ort') });
    const md = s.inputMetadata[0];
    const per = md.shape.slice(1).reduce((a, b) => a * b, 1);
    const data = new Float32Array(batch * per);
    for (let i = 0; i < data.length; i++) data[i] = Math.random();
    const feeds = { [s.inputNames[0]]: inputTensor(s, data, batch) };
    const warm = 5;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < warm + runs; i++) await s.run(feeds);
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    s.endProfiling();
    await s.release();
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
    if (files.length !== 1) throw new Error(`expected one profile in ${dir}, found ${files.length}`);
    const trace = JSON.parse(fs.readFileSync(path.join(dir, files[0]), 'utf8'));
    print(nodeTable(trace, warm, batch), runs, batch, threads, wallMs / (warm + runs) / batch, asJSON);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// nodeTable gathers the kernel_time events of every node: one event per
// node per run. The first warm runs are dropped; the rest give a median.
function nodeTable(trace, warm, batch) {
  const nodes = new Map();
  for (const ev of trace) {
    if (ev.cat !== 'Node' || !ev.name.endsWith('_kernel_time')) continue;
    const name = ev.name.slice(0, -'_kernel_time'.length);
    let n = nodes.get(name);
    if (!n) {
      const a = ev.args || {};
      n = { name, op: a.op_name || '', shape: shapeOf(a.output_type_shape), first: ev.ts, durs: [] };
      nodes.set(name, n);
    }
    n.durs.push(ev.dur);
  }
  const out = [];
  for (const n of nodes.values()) {
    const d = n.durs.slice(warm).sort((a, b) => a - b);
    if (d.length === 0) continue;
    out.push({ name: n.name, op: n.op, shape: n.shape, us_per_img: d[Math.floor(d.length / 2)] / batch, first: n.first });
  }
  out.sort((a, b) => a.first - b.first);
  return out;
}

function shapeOf(ots) {
  if (!Array.isArray(ots) || ots.length === 0) return [];
  const v = Object.values(ots[0])[0];
  return Array.isArray(v) ? v : [];
}

function print(table, runs, batch, threads, wallMsPerImg, asJSON) {
  const sum = table.reduce((a, n) => a + n.us_per_img, 0);
  if (asJSON) {
    console.log(JSON.stringify({ runtime: 'onnxruntime', batch, threads, runs, wall_ms_per_img: wallMsPerImg, node_us_per_img: sum,
      nodes: table.map(({ name, op, shape, us_per_img }) => ({ name, op, shape, us_per_img })) }));
    return;
  }
  console.log(`onnxruntime batch ${batch} threads ${threads}: ${runs} profiled runs, ${wallMsPerImg.toFixed(3)} ms/img wall (profiler on), nodes sum ${(sum / 1000).toFixed(3)} ms/img`);
  console.log(`${'#'.padStart(4)} ${'us/img'.padStart(9)} ${'share'.padStart(6)}  ${'op'.padEnd(22)} ${'shape'.padEnd(18)} name`);
  table.forEach((n, i) => {
    console.log(`${String(i).padStart(4)} ${n.us_per_img.toFixed(1).padStart(9)} ${(100 * n.us_per_img / sum).toFixed(1).padStart(5)}%  ${n.op.padEnd(22)} ${JSON.stringify(n.shape).padEnd(18)} ${n.name}`);
  });
}

main().catch((e) => { console.error('ort profile:', e && e.message ? e.message : e); process.exit(1); });
