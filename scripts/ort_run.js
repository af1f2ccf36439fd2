#!/usr/bin/env node
// Runs an ONNX model with ONNX Runtime (CPU) on .npy inputs and writes every output as .npy: the
// reference that edgeopt's outputs are held against (tests/models/run_models.sh).
//
//   node scripts/ort_run.js MODEL.onnx --input NAME=FILE.npy [...] --output-dir DIR
//                           [--threads N] [--graph-opt disabled|basic|extended|all]
//
// `--input FILE.npy` without NAME= is accepted when the model has exactly one input. Outputs go to
// DIR/<name>.npy, the name with every character outside [A-Za-z0-9._-] replaced by '_' (the same
// rule as `edgeopt run`). Graph optimizations stay at ORT's default unless --graph-opt is given.
// onnxruntime-node 1.30 comes from scripts/install-deps.sh, in <repo>/.peers/node_modules.
'use strict';
const fs = require('fs');
const path = require('path');

function die(msg, code = 1) {
  process.stderr.write(`ort_run: ${msg}\n`);
  process.exit(code);
}

// ---- .npy (format 1.0/2.0/3.0 read, 1.0 write; little-endian, C order) ----

// descr kind+size -> [ORT tensor type, TypedArray constructor]
const NPY_TYPES = {
  f2: ['float16', Uint16Array], f4: ['float32', Float32Array], f8: ['float64', Float64Array],
  b1: ['bool', Uint8Array],
  i1: ['int8', Int8Array], i2: ['int16', Int16Array], i4: ['int32', Int32Array], i8: ['int64', BigInt64Array],
  u1: ['uint8', Uint8Array], u2: ['uint16', Uint16Array], u4: ['uint32', Uint32Array], u8: ['uint64', BigUint64Array],
};
const ORT_TO_DESCR = {};
for (const [k, [t]] of Object.entries(NPY_TYPES)) ORT_TO_DESCR[t] = (k[1] === '1' ? '|' : '<') + k;

function readNpy(file) {
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`${file}: cannot read: ${e.message}`);
  }
  if (buf.length < 10 || buf.toString('latin1', 0, 6) !== '\x93NUMPY') throw new Error(`${file}: not a .npy file`);
  const major = buf[6];
  if (major < 1 || major > 3 || buf[7] !== 0) throw new Error(`${file}: unsupported .npy version ${major}.${buf[7]}`);
  const pre = major === 1 ? 10 : 12;
  if (buf.length < pre) throw new Error(`${file}: truncated .npy header`);
  const hlen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  if (pre + hlen > buf.length) throw new Error(`${file}: truncated .npy header`);
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', pre, pre + hlen);
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header);
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) throw new Error(`${file}: malformed .npy header: ${header.trim()}`);
  if (fortran[1] === 'True') throw new Error(`${file}: Fortran-ordered .npy arrays are not supported`);
  const m = /^([<>|=])([a-z?])(\d+)$/.exec(descr[1]);
  const key = m ? (m[2] === '?' ? 'b' : m[2]) + m[3] : '';
  if (!m || !NPY_TYPES[key]) throw new Error(`${file}: unsupported .npy dtype '${descr[1]}'`);
  if (m[1] === '>' && m[3] !== '1') throw new Error(`${file}: big-endian .npy arrays are not supported ('${descr[1]}')`);
  const dims = shape[1].split(',').map((s) => s.trim().replace(/L$/, '')).filter((s) => s.length > 0).map((s) => {
    if (!/^\d+$/.test(s)) throw new Error(`${file}: bad .npy shape (${shape[1]})`);
    return Number(s);
  });
  const [type, Ctor] = NPY_TYPES[key];
  const numel = dims.reduce((a, b) => a * b, 1);
  const nbytes = numel * Ctor.BYTES_PER_ELEMENT;
  const off = pre + hlen;
  if (buf.length - off !== nbytes) {
    throw new Error(`${file}: ${type} [${dims}] needs ${nbytes} data bytes, file has ${buf.length - off}`);
  }
  // Copy into a fresh (aligned) ArrayBuffer: the Buffer's own offset may not suit the TypedArray.
  const ab = buf.buffer.slice(buf.byteOffset + off, buf.byteOffset + off + nbytes);
  return { type, dims, data: new Ctor(ab) };
}

function writeNpy(file, type, dims, data) {
  const descr = ORT_TO_DESCR[type];
  if (!descr) throw new Error(`cannot write ${type} tensor as .npy (${file})`);
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let h = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = Math.ceil((10 + h.length + 1) / 64) * 64;
  h = h.padEnd(total - 10 - 1, ' ') + '\n';
  const pre = Buffer.alloc(10);
  pre.write('\x93NUMPY', 0, 'latin1');
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(h.length, 8);
  let bytes;
  if (type === 'bool' && !(data instanceof Uint8Array)) {
    bytes = Buffer.from(Array.from(data, (v) => (v ? 1 : 0)));
  } else {
    bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }
  fs.writeFileSync(file, Buffer.concat([pre, Buffer.from(h, 'latin1'), bytes]));
}

const sanitize = (name) => name.replace(/[^A-Za-z0-9._-]/g, '_');

// ---- main ----

function parseArgs(argv) {
  const a = { model: null, inputs: [], outDir: null, threads: 0, graphOpt: null };
  const usage = 'usage: node ort_run.js MODEL.onnx --input NAME=FILE.npy ... --output-dir DIR [--threads N] ' +
    '[--graph-opt disabled|basic|extended|all]';
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) die(`${arg} needs a value\n${usage}`, 2);
      return argv[++i];
    };
    if (arg === '--input' || arg === '-i') {
      const v = val();
      const eq = v.indexOf('=');
      a.inputs.push(eq < 0 ? { name: null, file: v } : { name: v.slice(0, eq), file: v.slice(eq + 1) });
    } else if (arg === '--output-dir' || arg === '-o') {
      a.outDir = val();
    } else if (arg === '--threads') {
      a.threads = Number(val());
      if (!Number.isInteger(a.threads) || a.threads < 0) die(`--threads expects a non-negative integer\n${usage}`, 2);
    } else if (arg === '--graph-opt') {
      a.graphOpt = val();
      if (!['disabled', 'basic', 'extended', 'all'].includes(a.graphOpt)) die(`bad --graph-opt '${a.graphOpt}'\n${usage}`, 2);
    } else if (arg === '-h' || arg === '--help') {
      process.stdout.write(usage + '\n');
      process.exit(0);
    } else if (arg.startsWith('-')) {
      die(`unknown option ${arg}\n${usage}`, 2);
    } else if (!a.model) {
      a.model = arg;
    } else {
      die(`unexpected argument ${arg}\n${usage}`, 2);
    }
  }
  if (!a.model || !a.outDir) die(usage, 2);
  return a;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  const ortPath = path.join(__dirname, '..', '.peers', 'node_modules', 'onnxruntime-node');
  let ort;
  try {
    ort = require(ortPath);
  } catch (e) {
    die(`cannot load onnxruntime-node from ${ortPath} (run scripts/install-deps.sh): ${e.message}`);
  }
  if (!fs.existsSync(a.model)) die(`${a.model}: no such file`);
  const opts = { executionProviders: ['cpu'] };
  if (a.threads > 0) opts.intraOpNumThreads = a.threads;
  if (a.graphOpt) opts.graphOptimizationLevel = a.graphOpt;
  let session;
  try {
    session = await ort.InferenceSession.create(a.model, opts);
  } catch (e) {
    die(`${a.model}: ONNX Runtime cannot load the model: ${e.message}`);
  }

  const meta = {};
  for (const m of session.inputMetadata || []) meta[m.name] = m;
  const feeds = {};
  for (const inp of a.inputs) {
    let name = inp.name;
    if (name === null) {
      if (session.inputNames.length !== 1) {
        die(`--input ${inp.file}: the model has ${session.inputNames.length} inputs (${session.inputNames.join(', ')}); use NAME=FILE`);
      }
      name = session.inputNames[0];
    }
    if (!session.inputNames.includes(name)) die(`unknown input '${name}'; the model's inputs are: ${session.inputNames.join(', ')}`);
    if (feeds[name]) die(`input '${name}' given twice`);
    let t;
    try {
      t = readNpy(inp.file);
    } catch (e) {
      die(e.message);
    }
    const m = meta[name];
    if (m && m.type && m.type !== t.type) die(`input '${name}': model expects ${m.type}, ${inp.file} holds ${t.type}`);
    if (m && Array.isArray(m.shape)) {
      const ok = m.shape.length === t.dims.length && m.shape.every((d, k) => typeof d !== 'number' || d < 0 || d === t.dims[k]);
      if (!ok) die(`input '${name}': model expects shape [${m.shape}], ${inp.file} has [${t.dims}]`);
    }
    feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
  }
  const missing = session.inputNames.filter((n) => !feeds[n]);
  if (missing.length) die(`missing --input for: ${missing.join(', ')}`);

  let results;
  try {
    results = await session.run(feeds);
  } catch (e) {
    die(`${a.model}: ONNX Runtime run failed: ${e.message}`);
  }

  fs.mkdirSync(a.outDir, { recursive: true });
  const seen = new Map();
  for (const name of session.outputNames) {
    const file = sanitize(name) + '.npy';
    if (seen.has(file)) die(`outputs '${seen.get(file)}' and '${name}' both map to ${file}`);
    seen.set(file, name);
    const t = results[name];
    try {
      writeNpy(path.join(a.outDir, file), t.type, t.dims, t.data);
    } catch (e) {
      die(`output '${name}': ${e.message}`);
    }
    process.stdout.write(`${name}: ${t.type} [${t.dims.join(',')}] -> ${path.join(a.outDir, file)}\n`);
  }
}

// scripts/ort_bench_peer.js reuses the .npy reader/writer.
module.exports = { readNpy, writeNpy, sanitize };

if (require.main === module) main().catch((e) => die(e && e.stack ? e.stack : String(e)));
