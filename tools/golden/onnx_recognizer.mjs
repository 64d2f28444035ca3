#!/usr/bin/env node
// onnx_recognizer.mjs - golden outputs of the 512-D ONNX face recogniser (fr_feature.onnx, from
// npm faceplugin-face-recognition-js 0.0.1) computed by onnxruntime-node on the CPU, so that the
// C runtime can be tested against the model's own runtime.
//
// Usage:
//   node onnx_recognizer.mjs MODEL.onnx OUT.json INPUT...
//
// INPUT is a raw 112x112 face chip (exactly 37632 bytes: uint8 RGB, row-major HWC, no header)
// or the word `pattern` (a fixed synthetic input, see patternInput below). Network input is
// float32 [1,3,112,112] NCHW RGB, (v - 127.5) / 128 per channel value; output float32 [1,512].
//
// Dependencies are the exact versions in package.json next to this file; install them with
// `npm ci --ignore-scripts` (the install script only fetches GPU extras; the CPU library ships
// in the package). Nothing is downloaded by this script.

import fs from 'fs';
import path from 'path';
import crypto from 'crypto';
import { createRequire } from 'module';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');
const ortVersion = require('onnxruntime-node/package.json').version;

const S = 112;
const CHIP_BYTES = S * S * 3;
const OUT_DIM = 512;

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

function chipInput(buf) {
  const t = new Float32Array(CHIP_BYTES);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) for (let c = 0; c < 3; c++) t[(c * S + y) * S + x] = (buf[(y * S + x) * 3 + c] - 127.5) / 128;
  return t;
}

// Smooth in x and y, different per channel, plus a small mod-11 ripple, so that a transposed or
// channel-swapped input in the C port gives a clearly different output. Range about [-0.95, 0.94],
// like a normalised chip.
// Computed in float64; storing into the Float32Array rounds to float32 (what a C port must match).
function patternInput() {
  const t = new Float32Array(CHIP_BYTES);
  for (let c = 0; c < 3; c++) for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
    t[(c * S + y) * S + x] = 0.9 * Math.sin(0.05 * (x + 1) * (c + 1)) * Math.cos(0.07 * (y + 1)) + 0.1 * ((x * 7 + y * 13 + c * 5) % 11) / 11 - 0.05;
  }
  return t;
}

// One thread and sequential execution: the result must not depend on the machine's core count.
async function openSession(model, level) {
  const s = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'], graphOptimizationLevel: level, intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
  });
  if (s.inputNames[0] !== 'input' || s.outputNames[0] !== 'output') throw new Error(`unexpected model I/O names ${s.inputNames} -> ${s.outputNames}`);
  return s;
}

async function run(session, data) {
  const res = await session.run({ input: new ort.Tensor('float32', data, [1, 3, S, S]) });
  const out = res.output;
  if (out.dims.join(',') !== `1,${OUT_DIM}`) throw new Error(`unexpected output shape [${out.dims}]`);
  return out.data;
}

// 9 significant digits always round-trip a float32, also through C's strtof.
function f32Json(v) {
  const n = Number(v.toPrecision(9));
  if (Math.fround(n) !== v) throw new Error(`${v} does not round-trip`);
  return n;
}

async function main() {
  const [model, outFile, ...inputs] = process.argv.slice(2);
  if (!model || !outFile || inputs.length === 0) {
    console.error('usage: node onnx_recognizer.mjs MODEL.onnx OUT.json INPUT...   (INPUT: 112x112 RGB chip file or `pattern`)');
    process.exit(2);
  }
  const items = inputs.map((inp) => {
    if (inp === 'pattern') return { name: 'pattern', input_sha256: null, data: patternInput() };
    const buf = fs.readFileSync(inp);
    if (buf.length !== CHIP_BYTES) throw new Error(`${inp}: ${buf.length} bytes, expected ${CHIP_BYTES} (112x112 RGB, no header)`);
    return { name: path.basename(inp, path.extname(inp)), input_sha256: sha256(buf), data: chipInput(buf) };
  });

  // The golden output is the unoptimised graph (closest to the plain op-by-op semantics a C
  // runtime implements); 'all' is run only to measure how far ORT's own fusions move the output,
  // which is a floor for any tolerance we set on the C side.
  const plain = await openSession(model, 'disabled');
  const fused = await openSession(model, 'all');
  let maxDiff = 0;
  const records = [];
  for (const it of items) {
    const a = await run(plain, it.data);
    const b = await run(fused, it.data);
    let ss = 0;
    for (let i = 0; i < OUT_DIM; i++) { ss += a[i] * a[i]; maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i])); }
    records.push({ name: it.name, input_sha256: it.input_sha256, output: Array.from(a, f32Json), l2_norm: Math.sqrt(ss) });
    console.log(`${it.name}: l2_norm=${Math.sqrt(ss).toPrecision(9)}`);
  }

  const doc = {
    model: path.basename(model),
    model_sha256: sha256(fs.readFileSync(model)),
    runtime: `onnxruntime-node ${ortVersion}`,
    normalisation: '(v - 127.5) / 128',
    ort_opt_max_abs_diff: maxDiff,
    items: records,
  };
  fs.mkdirSync(path.dirname(path.resolve(outFile)), { recursive: true });
  fs.writeFileSync(outFile, `${JSON.stringify(doc)}\n`);
  console.log(`ort_opt_max_abs_diff=${maxDiff} written to ${outFile}`);
}

main().catch((e) => { console.error(e); process.exit(1); });
