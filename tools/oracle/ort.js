// Runs an ONNX model with onnxruntime-node on a raw little-endian float32
// NHWC tensor and writes the raw float32 output.
//
//   node ort.js MODEL.onnx IN.f32 BATCH OUT.f32
//
// The model's input is [batch,H,W,C] with a symbolic batch dimension.
'use strict';
const fs = require('fs');
const { session, inputTensor } = require('./ortcommon');

async function main() {
  const [model, inPath, batchArg, outPath] = process.argv.slice(2);
  if (!outPath) throw new Error('usage: node ort.js MODEL.onnx IN.f32 BATCH OUT.f32');
  const s = await session(model, 1);
  const buf = fs.readFileSync(inPath);
  const x = inputTensor(s, new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)), Number(batchArg));
  const r = await s.run({ [s.inputNames[0]]: x });
  const y = r[s.outputNames[0]].data;
  fs.writeFileSync(outPath, Buffer.from(y.buffer, y.byteOffset, y.byteLength));
}

main().catch((e) => { console.error('ort oracle:', e && e.message ? e.message : e); process.exit(1); });
