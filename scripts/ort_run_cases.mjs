// Runs many small models with ONNX Runtime (npm onnxruntime-node) in one process, for scripts that
// compare hundreds of one-node models (scripts/opset_vs_ort.py): one node start instead of hundreds.
// Usage: node ort_run_cases.mjs JOBS.json
// JOBS.json: [{"model": PATH, "out_dir": DIR, "inputs": [{"name", "type", "dims", "file" | "strings"}]}]
// where "file" holds the raw little-endian elements (int4/uint4 packed two per byte, as ONNX Runtime
// holds them). Each job writes OUT_DIR/result.json: {"outputs": [{"name", "type", "dims", "file" |
// "strings"}]} with the raw bytes in OUT_DIR/NAME.bin, or {"error": MESSAGE} when the session cannot
// be created or the run fails. Sessions use ONNX Runtime's kernels as they are: optimizations off,
// one thread.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const ort = require('onnxruntime-node');

const ARRAYS = { float32: Float32Array, float64: Float64Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array,
  uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array,
  bool: Uint8Array, float16: Uint16Array, int4: Uint8Array, uint4: Uint8Array };

function makeTensor(spec, dir) {
  if (spec.type === 'string') return new ort.Tensor('string', spec.strings, spec.dims);
  const bytes = fs.readFileSync(path.join(dir, spec.file));
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  const Arr = ARRAYS[spec.type];
  if (!Arr) throw new Error(`input ${spec.name}: unsupported type ${spec.type}`);
  return new ort.Tensor(spec.type, new Arr(copy.buffer, 0, bytes.length / Arr.BYTES_PER_ELEMENT), spec.dims);
}

const jobs = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const jobsDir = path.dirname(process.argv[2]);
const opts = { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1, interOpNumThreads: 1, logSeverityLevel: 3 };
for (const job of jobs) {
  fs.mkdirSync(job.out_dir, { recursive: true });
  let result;
  try {
    const session = await ort.InferenceSession.create(job.model, opts);
    const feeds = {};
    for (const spec of job.inputs) feeds[spec.name] = makeTensor(spec, jobsDir);
    const out = await session.run(feeds);
    const outputs = [];
    for (const name of session.outputNames) {
      const t = out[name];
      const entry = { name, type: t.type, dims: Array.from(t.dims) };
      if (t.type === 'string') {
        entry.strings = Array.from(t.data);
      } else {
        entry.file = `out_${outputs.length}.bin`;
        const d = t.data;
        fs.writeFileSync(path.join(job.out_dir, entry.file), Buffer.from(d.buffer, d.byteOffset, d.byteLength));
      }
      outputs.push(entry);
    }
    result = { outputs };
  } catch (e) {
    result = { error: String(e && e.message ? e.message : e).split('\n')[0] };
  }
  fs.writeFileSync(path.join(job.out_dir, 'result.json'), JSON.stringify(result));
}
