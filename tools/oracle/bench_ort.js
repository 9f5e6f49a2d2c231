// Measures ONNX Runtime on a model: prints one JSON line with batch, threads,
// img_per_s and ms_per_img (median of rounds of at least minMs each).
//
//   node bench_ort.js MODEL.onnx BATCH THREADS [ROUNDS]
//   node bench_ort.js MODEL.onnx BATCH THREADS paced SLICE_MS
//
// Paced (as `cspipe bench --paced`): after the warm-up print {"ready":true}, then measure one
// round of at least SLICE_MS per line read on standard input and print its JSON line, until the
// input ends; make bench drives both engines this way, slice by slice.
'use strict';
const readline = require('readline');
const { session, inputTensor } = require('./ortcommon');

// round runs the session for at least minMs and returns wall and CPU milliseconds per image.
async function round(s, feeds, batch, minMs) {
  let n = 0;
  const c0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  let el = 0;
  while (el < minMs) {
    await s.run(feeds);
    n++;
    el = Number(process.hrtime.bigint() - t0) / 1e6;
  }
  const c = process.cpuUsage(c0);
  return { ms: el / (n * batch), cpu: (c.user + c.system) / 1000 / (n * batch), runs: n };
}

async function main() {
  const [model, batchArg, threadsArg, roundsArg] = process.argv.slice(2);
  if (!threadsArg) throw new Error('usage: node bench_ort.js MODEL.onnx BATCH THREADS [ROUNDS]');
  const paced = roundsArg === 'paced';
  const batch = Number(batchArg), threads = Number(threadsArg), rounds = paced ? 1 : Number(roundsArg || 5);
  const sliceMs = paced ? Number(process.argv[6]) : 300;
  if (!(batch >= 1 && threads >= 1 && rounds >= 1 && sliceMs > 0)) {
    throw new Error(`bad arguments ${JSON.stringify(process.argv.slice(2))}: want MODEL.onnx BATCH THREADS [ROUNDS | paced SLICE_MS]`);
  }
  const s = await session(model, threads, 'all');
  const md = s.inputMetadata[0];
  const per = md.shape.slice(1).reduce((a, b) => a * b, 1);
  const data = new Float32Array(batch * per);
  for (let i = 0; i < data.length; i++) data[i] = Math.random();
  const feeds = { [s.inputNames[0]]: inputTensor(s, data, batch) };
  for (let i = 0; i < 3; i++) await s.run(feeds); // warm-up
  if (paced) {
    console.log(JSON.stringify({ ready: true }));
    for await (const _ of readline.createInterface({ input: process.stdin })) {
      const r = await round(s, feeds, batch, sliceMs);
      console.log(JSON.stringify({
        runtime: 'onnxruntime', batch, threads, runs: r.runs, img_per_s: 1000 / r.ms, ms_per_img: r.ms, cpu_ms_per_img: r.cpu,
      }));
    }
    return;
  }
  const perImg = [];
  const cpuPerImg = [];
  for (let r = 0; r < rounds; r++) {
    const x = await round(s, feeds, batch, sliceMs);
    perImg.push(x.ms);
    cpuPerImg.push(x.cpu);
  }
  const median = (v) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const ms = median(perImg);
  console.log(JSON.stringify({
    runtime: 'onnxruntime', batch, threads, img_per_s: 1000 / ms, ms_per_img: ms, cpu_ms_per_img: median(cpuPerImg),
  }));
}

main().catch((e) => { console.error('ort bench:', e && e.message ? e.message : e); process.exit(1); });
