// Measures ONNX Runtime on a model: prints one JSON line with batch, threads,
// img_per_s and ms_per_img (median of rounds of at least minMs each).
//
//   node bench_ort.js MODEL.onnx BATCH THREADS [ROUNDS]
'use strict';
const { session, inputTensor } = require('./ortcommon');

async function main() {
  const [model, batchArg, threadsArg, roundsArg] = process.argv.slice(2);
  if (!threadsArg) throw new Error('usage: node bench_ort.js MODEL.onnx BATCH THREADS [ROUNDS]');
  const batch = Number(batchArg), threads = Number(threadsArg), rounds = Number(roundsArg || 5);
  const s = await session(model, threads, 'all');
  const md = s.inputMetadata[0];
  const per = md.shape.slice(1).reduce((a, b) => a * b, 1);
  const data = new Float32Array(batch * per);
  for (let i = 0; i < data.length; i++) data[i] = Math.random();
  const feeds = { [s.inputNames[0]]: inputTensor(s, data, batch) };
  for (let i = 0; i < 3; i++) await s.run(feeds); // warm-up
  const minMs = 300;
  const perImg = [];
  const cpuPerImg = [];
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    let el = 0;
    while (el < minMs) {
      await s.run(feeds);
      n++;
      el = Number(process.hrtime.bigint() - t0) / 1e6;
    }
    perImg.push(el / (n * batch));
    const c = process.cpuUsage(c0);
    cpuPerImg.push((c.user + c.system) / 1000 / (n * batch));
  }
  const median = (v) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const ms = median(perImg);
  console.log(JSON.stringify({
    runtime: 'onnxruntime', batch, threads, img_per_s: 1000 / ms, ms_per_img: ms, cpu_ms_per_img: median(cpuPerImg),
  }));
}

main().catch((e) => { console.error('ort bench:', e && e.message ? e.message : e); process.exit(1); });
