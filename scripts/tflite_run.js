#!/usr/bin/env node
// Runs a .tflite model in the TensorFlow Lite interpreter (WASM build from npm
// @tensorflow/tfjs-tflite, installed by scripts/install-deps.sh into <repo>/.peers) on .npy
// inputs and writes every output as .npy: the third-party check of edgeopt's TFLite export.
//
//   node scripts/tflite_run.js MODEL.tflite --input [NAME=]FILE.npy [...] --output-dir DIR [--rows]
//
// --rows: every input .npy holds K items stacked on an extra leading axis ([K, <input shape>], as
// `edgeopt eval --dump-inputs` writes them); the model runs once per item, in one interpreter, and
// every output is written stacked the same way ([K, <output shape>], for `edgeopt eval --outputs-from`).
// Inputs are matched by name, or by position when NAME= is left out; each .npy must have the
// input's exact shape and dtype. Outputs go to DIR/<name>.npy, the name with every character
// outside [A-Za-z0-9._-] replaced by '_' (the rule of `edgeopt run`).
'use strict';
const fs = require('fs');
const path = require('path');

function die(msg, code = 1) {
  process.stderr.write(`tflite_run: ${msg}\n`);
  process.exit(code);
}

const TYPES = {
  float32: ['<f4', Float32Array], int32: ['<i4', Int32Array], int8: ['|i1', Int8Array], uint8: ['|u1', Uint8Array],
  int64: ['<i8', BigInt64Array], bool: ['|b1', Uint8Array],
};

function readNpy(file) {
  const buf = fs.readFileSync(file);
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  const pre = major === 1 ? 10 : 12;
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const header = buf.toString('latin1', pre, pre + hlen);
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header);
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) throw new Error(`${file}: malformed .npy header`);
  if (fortran[1] === 'True') throw new Error(`${file}: Fortran order is not supported`);
  const type = Object.keys(TYPES).find((k) => TYPES[k][0].slice(1) === descr[1].slice(1) && descr[1][0] !== '>');
  if (!type) throw new Error(`${file}: unsupported dtype '${descr[1]}'`);
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s.length).map(Number);
  const Arr = TYPES[type][1];
  const n = dims.reduce((a, b) => a * b, 1);
  const off = pre + hlen;
  if (buf.length - off < n * Arr.BYTES_PER_ELEMENT) throw new Error(`${file}: truncated data`);
  const data = new Arr(buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + off + n * Arr.BYTES_PER_ELEMENT));
  return { type, dims, data };
}

function writeNpy(file, type, dims, data) {
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let h = `{'descr': '${TYPES[type][0]}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + h.length + 1;
  h += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(h.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  fs.writeFileSync(file, Buffer.concat([head, Buffer.from(h, 'latin1'), body]));
}

async function main() {
  const args = process.argv.slice(2);
  let model = null, outDir = null, rows = false;
  const inputs = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--input' || a === '--output-dir') {
      if (i + 1 >= args.length) die(`${a} needs a value`, 2);
      const v = args[++i];
      if (a === '--output-dir') outDir = v;
      else {
        const eq = v.indexOf('=');
        inputs.push(eq > 0 && !fs.existsSync(v) ? { name: v.slice(0, eq), file: v.slice(eq + 1) } : { name: null, file: v });
      }
    } else if (a === '--rows') rows = true;
    else if (a.startsWith('-')) die(`unknown option '${a}'`, 2);
    else if (!model) model = a;
    else die(`unexpected argument '${a}'`, 2);
  }
  if (!model || !outDir) die('usage: tflite_run.js MODEL.tflite --input [NAME=]FILE.npy ... --output-dir DIR', 2);
  const wasmDir = path.join(__dirname, '..', '.peers', 'node_modules', '@tensorflow', 'tfjs-tflite', 'wasm');
  if (!fs.existsSync(wasmDir)) die(`${wasmDir} is missing: run scripts/install-deps.sh`);
  const factory = require(path.join(wasmDir, 'tflite_web_api_cc.js'));
  const m = await factory({ wasmBinary: fs.readFileSync(path.join(wasmDir, 'tflite_web_api_cc.wasm')),
                            print: () => {}, printErr: (s) => { if (!/^INFO: /.test(s)) process.stderr.write(`tflite: ${s}\n`); } });
  const bytes = fs.readFileSync(model);
  const ptr = m._malloc(bytes.length);
  m.HEAPU8.set(bytes, ptr);
  const res = m.TFLiteWebModelRunner.CreateFromBufferAndOptions(ptr, bytes.length,
    { numThreads: 1, enableProfiling: false, maxProfilingBufferEntries: 1024 });
  if (!res.ok()) die(`${model}: the interpreter refused the model: ${res.errorMessage ? res.errorMessage() : ''}`);
  const runner = res.value();
  const tin = runner.GetInputs();
  if (inputs.length !== tin.size()) die(`${model} has ${tin.size()} inputs, ${inputs.length} given`, 2);
  const feeds = [];  // per model input: the .npy and the elements of one item
  let count = rows ? -1 : 1;
  for (let k = 0; k < tin.size(); k++) {
    const t = tin.get(k);
    const given = inputs.find((x) => x.name === t.name) || (inputs[k].name === null ? inputs[k] : null);
    if (!given) die(`no --input for '${t.name}'`, 2);
    const a = readNpy(given.file);
    const want = String(t.shape).split(',').filter((s) => s.length).map(Number);
    if (a.type !== t.dataType) die(`input '${t.name}': model wants ${t.dataType}, ${given.file} is ${a.type}`, 2);
    const dims = rows ? a.dims.slice(1) : a.dims;
    if (rows && (a.dims.length < 1 || (count >= 0 && a.dims[0] !== count)))
      die(`input '${t.name}': --rows needs [K, ${want}] with the same K for every input, ${given.file} is [${a.dims}]`, 2);
    if (rows) count = a.dims[0];
    if (dims.join(',') !== want.join(',')) die(`input '${t.name}': model wants [${want}], ${given.file} is [${a.dims}]`, 2);
    feeds.push({ t, a, n: want.reduce((x, y) => x * y, 1) });
  }
  fs.mkdirSync(outDir, { recursive: true });
  if (count < 1) die('--rows: the inputs hold no rows', 2);
  let outs = null;  // per output: its tensor, name, type, dims, stacked data
  for (let i = 0; i < count; i++) {
    for (const f of feeds) f.t.data().set(f.a.data.subarray(i * f.n, (i + 1) * f.n));
    if (!runner.Infer()) die(`Infer() failed${rows ? ` on row ${i}` : ''}`);
    if (!outs) {
      const tout = runner.GetOutputs();
      outs = [];
      for (let k = 0; k < tout.size(); k++) {
        const t = tout.get(k);
        if (!TYPES[t.dataType]) die(`output '${t.name}': unsupported type ${t.dataType}`);
        const dims = String(t.shape).split(',').filter((s) => s.length).map(Number);
        const n = dims.reduce((x, y) => x * y, 1);
        outs.push({ t, name: t.name.replace(/[^A-Za-z0-9._-]/g, '_') || `output_${k}`, type: t.dataType,
                    dims: rows ? [count, ...dims] : dims, n, data: new TYPES[t.dataType][1](n * count) });
      }
    }
    for (const o of outs) o.data.set(o.t.data(), i * o.n);  // copy out of the WASM heap
  }
  for (const o of outs) writeNpy(path.join(outDir, `${o.name}.npy`), o.type, o.dims, o.data);
}

main().catch((e) => die(e.message));
