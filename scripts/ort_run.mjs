// Runs a model with ONNX Runtime (npm onnxruntime-node) on .npy inputs and writes .npy outputs.
// Usage: node ort_run.mjs MODEL IN_DIR OUT_DIR [--level disabled|basic|extended|all] [--save-optimized PATH]
//                         [--threads N] [--bench WARMUP,ITERS] [--config KEY=VALUE]...
// --bench times WARMUP untimed and ITERS timed runs and adds latency (ms) and peak RSS to the JSON line.
// --config sets a session config entry. session.x64quantprecision is 1 unless given on x86 CPUs without VNNI: there
// ONNX Runtime's default U8S8 int8 kernels add two u8 x s8 products in 16 bits, which saturate (outputs off by
// whole classes on full-range weights); with 1 it runs them exactly (U8U8, slower).
// `--config session.x64quantprecision=0` times the default, saturating kernels.
// IN_DIR holds NAME.npy per model input (file names are the input names, '/' replaced by '_').
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');

const NPY_TO_ORT = { '<f4': 'float32', '<f8': 'float64', '|i1': 'int8', '|u1': 'uint8', '<i2': 'int16', '<u2': 'uint16',
  '<i4': 'int32', '<u4': 'uint32', '<i8': 'int64', '<u8': 'uint64', '|b1': 'bool', '<f2': 'float16' };
const ARRAYS = { float32: Float32Array, float64: Float64Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array,
  uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array,
  bool: Uint8Array, float16: Uint16Array };

function readNpy(file) {
  const buf = fs.readFileSync(file);
  const major = buf[6];
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const hstart = major === 1 ? 10 : 12;
  const header = buf.subarray(hstart, hstart + hlen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)[1];
  const dims = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const type = NPY_TO_ORT[descr];
  if (!type) throw new Error(`${file}: unsupported dtype ${descr}`);
  const data = buf.subarray(hstart + hlen);
  const copy = new Uint8Array(data.length);
  copy.set(data);
  const arr = new ARRAYS[type](copy.buffer, 0, data.length / ARRAYS[type].BYTES_PER_ELEMENT);
  return new ort.Tensor(type, type === 'bool' ? Uint8Array.from(arr) : arr, dims);
}

function writeNpy(file, tensor) {
  const rev = Object.fromEntries(Object.entries(NPY_TO_ORT).map(([k, v]) => [v, k]));
  const descr = rev[tensor.type];
  if (!descr) return false;
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` : `(${tensor.dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1; head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  const data = tensor.data;
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(header, 'latin1'), bytes]));
  return true;
}

const [model, inDir, outDir, ...rest] = process.argv.slice(2);
const opts = { graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1 };
// Exact int8 only where the default kernels saturate: the option also rewrites int8 QDQ files (see below), so
// on CPUs with VNNI, where the default kernels are exact, ONNX Runtime runs as its users run it.
const cpuFlags = fs.existsSync('/proc/cpuinfo') ? (/^flags\s*:(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'latin1')) ?? [])[1] ?? '' : '';
const vnni = process.arch !== 'x64' || /\b(avx512_vnni|avx_vnni)\b/.test(cpuFlags);
opts.extra = { session: { x64quantprecision: vnni ? '0' : '1' } };
let bench = null;
for (let i = 0; i < rest.length; i += 2) {
  if (rest[i] === '--level') opts.graphOptimizationLevel = rest[i + 1];
  if (rest[i] === '--save-optimized') opts.optimizedModelFilePath = rest[i + 1];
  if (rest[i] === '--threads') opts.intraOpNumThreads = Number(rest[i + 1]);
  if (rest[i] === '--bench') bench = rest[i + 1].split(',').map(Number);
  if (rest[i] === '--config') {
    const [key, ...value] = rest[i + 1].split('=');
    // onnxruntime-node flattens `extra`'s nested keys into "a.b" config entries.
    let node = opts.extra;
    const parts = key.split('.');
    for (const p of parts.slice(0, -1)) node = (node[p] ??= {});
    node[parts.at(-1)] = value.join('=');
  }
}
// ONNX Runtime 1.30 refuses some QOperator files under x64quantprecision=1 (QGemm with int8 activations: its
// S8->U8 rewrite leaves an input its int8-only kernel does not take); those run with its default kernels.
const exactGiven = rest.some((r, i) => rest[i - 1] === '--config' && r.startsWith('session.x64quantprecision='));
let session;
let exactInt8 = opts.extra.session.x64quantprecision;
try {
  session = await ort.InferenceSession.create(model, opts);
} catch (e) {
  if (exactGiven || exactInt8 !== '1') throw e;
  opts.extra.session.x64quantprecision = exactInt8 = '0';
  session = await ort.InferenceSession.create(model, opts);
}
const feeds = {};
for (const name of session.inputNames) {
  const file = path.join(inDir, name.replace(/[/\\:]/g, '_') + '.npy');
  if (fs.existsSync(file)) feeds[name] = readNpy(file);
}
let results = await session.run(feeds);
let latency = null;
if (bench) {
  const [warmup, iters] = bench;
  for (let i = 0; i < warmup; ++i) results = await session.run(feeds);
  const ms = [];
  for (let i = 0; i < iters; ++i) {
    const t0 = performance.now();
    results = await session.run(feeds);
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  const pick = (p) => ms[Math.min(ms.length - 1, Math.max(0, Math.ceil((p / 100) * ms.length) - 1))];
  latency = { min: ms[0], median: pick(50), p90: pick(90), p99: pick(99), mean: ms.reduce((a, b) => a + b, 0) / ms.length };
}
fs.mkdirSync(outDir, { recursive: true });
const written = [];
for (const name of session.outputNames) {
  if (writeNpy(path.join(outDir, name.replace(/[/\\:]/g, '_') + '.npy'), results[name])) written.push(name);
}
const report = { outputs: written, x64quantprecision: exactInt8 };
if (latency) {
  report.latency_ms = latency;
  report.iterations = bench[1];
  // VmHWM: maxRSS would include the parent's peak, which Linux carries across execve.
  const hwm = /VmHWM:\s*(\d+)/.exec(fs.readFileSync('/proc/self/status', 'latin1'));
  report.peak_rss_bytes = (hwm ? Number(hwm[1]) : process.resourceUsage().maxRSS) * 1024;
}
console.log(JSON.stringify(report));
