// Runs an ONNX model with onnxruntime-node on a raw little-endian float32
// NHWC tensor and writes the raw float32 output.
//
//   node ort.js MODEL.onnx IN.f32 BATCH OUT.f32
//
// The model's input is [1,H,W,C]; a batch is run one image at a time so the
// model needs no dynamic batch dimension.
'use strict';
const fs = require('fs');
const ort = require('onnxruntime-node');

async function main() {
  const [model, inPath, batchArg, outPath] = process.argv.slice(2);
  if (!outPath) throw new Error('usage: node ort.js MODEL.onnx IN.f32 BATCH OUT.f32');
  const batch = Number(batchArg);
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all',
  });
  const inName = session.inputNames[0];
  const outName = session.outputNames[0];
  const buf = fs.readFileSync(inPath);
  const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const per = all.length / batch;
  const dims = session.inputMetadata ? dimsOf(session, per) : null;
  const outs = [];
  for (let i = 0; i < batch; i++) {
    const x = new ort.Tensor('float32', all.slice(i * per, (i + 1) * per), dims);
    const r = await session.run({ [inName]: x });
    outs.push(Buffer.from(r[outName].data.buffer.slice(0)));
  }
  fs.writeFileSync(outPath, Buffer.concat(outs));
}

// dimsOf reads [1,H,W,C] from the model's input metadata.
function dimsOf(session, per) {
  const md = session.inputMetadata[0];
  if (md && Array.isArray(md.shape) && md.shape.every((d) => typeof d === 'number')) {
    return md.shape;
  }
  throw new Error('model input has no static shape; per-image floats = ' + per);
}

main().catch((e) => { console.error('ort oracle:', e && e.message ? e.message : e); process.exit(1); });
