// Runs a .tflite model with TFLite's own interpreter compiled to wasm (the
// runtime shipped in @tensorflow/tfjs-tflite) on a raw little-endian float32
// NHWC tensor and writes the raw float32 output.
//
//   node tflite.js MODEL.tflite IN.f32 BATCH OUT.f32
//
// tfjs-tflite's own loader expects a browser (it fetches the wasm by URL), so
// this script loads the package's emscripten module directly and hands it the
// wasm bytes from the package's files.
'use strict';
const fs = require('fs');
const path = require('path');

const wasmDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-tflite/package.json')), 'wasm');

async function main() {
  const [model, inPath, batchArg, outPath] = process.argv.slice(2);
  if (!outPath) throw new Error('usage: node tflite.js MODEL.tflite IN.f32 BATCH OUT.f32');
  const batch = Number(batchArg);
  const factory = require(path.join(wasmDir, 'tflite_web_api_cc_simd.js'));
  const mod = await factory({
    locateFile: (f) => path.join(wasmDir, f),
    wasmBinary: fs.readFileSync(path.join(wasmDir, 'tflite_web_api_cc_simd.wasm')),
    print: () => {}, printErr: () => {},
  });
  const bytes = fs.readFileSync(model);
  const ptr = mod._malloc(bytes.length);
  mod.HEAPU8.set(bytes, ptr);
  const status = mod.TFLiteWebModelRunner.CreateFromBufferAndOptions(ptr, bytes.length, {
    numThreads: 1, enableProfiling: false, maxProfilingBufferEntries: 1024,
  });
  if (!status.ok()) throw new Error('loading model: ' + status.errorMessage());
  const runner = status.value();
  const buf = fs.readFileSync(inPath);
  const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const per = all.length / batch;
  const outs = [];
  for (let i = 0; i < batch; i++) {
    // Fetched per image: a model with dynamic tensors (a RESHAPE whose
    // shape is computed, as Keras's Flatten converts) reallocates its
    // output during Infer, so a view taken before it would read stale memory.
    const dst = runner.GetInputs().get(0).data();
    if (dst.length !== per) throw new Error(`model input has ${dst.length} floats, tensor has ${per} per image`);
    dst.set(all.subarray(i * per, (i + 1) * per));
    if (!runner.Infer()) throw new Error('inference failed');
    outs.push(Buffer.from(Float32Array.from(runner.GetOutputs().get(0).data()).buffer));
  }
  fs.writeFileSync(outPath, Buffer.concat(outs));
}

main().catch((e) => { console.error('tflite oracle:', e && e.message ? e.message : e); process.exit(1); });
