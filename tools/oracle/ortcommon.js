// Shared helpers for the ONNX Runtime scripts.
'use strict';
const ort = require('onnxruntime-node');

// session opens a model with the given intra-op thread count and graph
// optimization level (disabled, basic, extended, all); ORT_OPT_LEVEL
// overrides the level. extra adds session options (e.g. enableProfiling).
async function session(model, threads, level, extra) {
  return ort.InferenceSession.create(model, {
    intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: process.env.ORT_OPT_LEVEL || level,
    executionMode: 'sequential', ...(extra || {}),
  });
}

// inputTensor wraps batch NHWC images; H, W, C come from the model.
function inputTensor(s, data, batch) {
  const md = s.inputMetadata && s.inputMetadata[0];
  if (!md || !Array.isArray(md.shape) || md.shape.length !== 4) throw new Error('model input is not 4-D');
  const dims = [batch, ...md.shape.slice(1)];
  if (dims.slice(1).some((d) => typeof d !== 'number')) throw new Error('model input has symbolic spatial dims');
  if (data.length !== dims.reduce((a, b) => a * b, 1)) {
    throw new Error(`tensor has ${data.length} floats, model wants ${dims.join('x')}`);
  }
  return new ort.Tensor('float32', data, dims);
}

module.exports = { ort, session, inputTensor };
