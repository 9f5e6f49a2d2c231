// Runs an ONNX model with onnxruntime-node on a raw little-endian float32
// NHWC tensor and writes the raw float32 output.
//
//   node ort.js MODEL.onnx IN.f32 BATCH OUT.f32 [nchw]
//
// The model's input is [batch,H,W,C] with a symbolic batch dimension; with
// nchw it is [batch,C,H,W] (as PyTorch exports) and the NHWC images are
// transposed before they are fed.
'use strict';
const fs = require('fs');
const { session, inputTensor } = require('./ortcommon');

async function main() {
  const [model, inPath, batchArg, outPath, layout] = process.argv.slice(2);
  if (!outPath) throw new Error('usage: node ort.js MODEL.onnx IN.f32 BATCH OUT.f32 [nchw]');
  // Graph rewrites off: ORT's PadFusion (level 'basic' and up) folds a zero
  // Pad into a following MaxPool's pads, which pad with -inf, so a MaxPool
  // over negative values (ResNet-50 V2's stem) changes result.
  const s = await session(model, 1, 'disabled');
  const buf = fs.readFileSync(inPath);
  let data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const batch = Number(batchArg);
  if (layout === 'nchw') {
    const [c, h, w] = s.inputMetadata[0].shape.slice(1);
    const t = new Float32Array(data.length);
    for (let b = 0; b < batch; b++) {
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          for (let ch = 0; ch < c; ch++) t[((b * c + ch) * h + y) * w + x] = data[((b * h + y) * w + x) * c + ch];
        }
      }
    }
    data = t;
  }
  const x = inputTensor(s, data, batch);
  const r = await s.run({ [s.inputNames[0]]: x });
  const y = r[s.outputNames[0]].data;
  fs.writeFileSync(outPath, Buffer.from(y.buffer, y.byteOffset, y.byteLength));
}

main().catch((e) => { console.error('ort oracle:', e && e.message ? e.message : e); process.exit(1); });
