#!/usr/bin/env node
// ONNX Runtime as the peer of `edgeopt bench --peer ort`: a persistent child process that loads the
// model once and then runs one inference per request, so that edgeopt and ORT iterations can be
// interleaved (machine noise then hits both alike) and each side times only its inference.
//
//   node scripts/ort_bench_peer.js MODEL.onnx --threads N --input NAME=FILE.npy [...]
//                                  --output NAME [...] --output-dir DIR
//
// Protocol (one line each way; stdout carries nothing else):
//   start-up   -> "ready {json}"   after loading and one run whose outputs are written to
//                 DIR/<i>.npy, i the position of NAME among the --output options (so names need no
//                 escaping); json: {"version", "load_ms", "baseline_rss_kib"} where baseline is
//                 node's own VmRSS before onnxruntime-node was loaded.
//              or "error {json}"  {"message"} and exit status 1.
//   "run"      -> "<ns>"          one inference, timed by process.hrtime.bigint() around the
//                                 native session's synchronous run (what InferenceSession.run
//                                 wraps in setImmediate + a Promise; that scheduling is left out).
//   "quit" or end of input -> exit 0.
// Session options: CPU provider, intra-op threads = N, inter-op threads 1, sequential execution,
// graph optimizations and spinning at ORT's defaults (what a user of ORT gets).
'use strict';
const fs = require('fs');
const path = require('path');
const readline = require('readline');

function vmKib(field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'latin1'));
    return m ? Number(m[1]) : -1;
  } catch (e) {
    return -1;
  }
}
const baselineRssKib = vmKib('VmRSS');

function fail(message) {
  process.stdout.write(`error ${JSON.stringify({ message })}\n`);
  process.exit(1);
}

const { readNpy, writeNpy } = require('./ort_run.js'); // .npy (1.0/2.0/3.0 read, 1.0 write)

function parseArgs(argv) {
  const a = { model: null, threads: 1, inputs: [], outputs: [], outDir: null };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) fail(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--threads') {
      a.threads = Number(val());
      if (!Number.isInteger(a.threads) || a.threads < 1) fail('--threads expects a positive integer');
    } else if (arg === '--input') {
      const v = val();
      const eq = v.lastIndexOf('=');
      if (eq < 0) fail(`--input ${v}: expected NAME=FILE.npy`);
      a.inputs.push({ name: v.slice(0, eq), file: v.slice(eq + 1) });
    } else if (arg === '--output') {
      a.outputs.push(val());
    } else if (arg === '--output-dir') {
      a.outDir = val();
    } else if (arg.startsWith('--')) {
      fail(`unknown option ${arg}`);
    } else if (!a.model) {
      a.model = arg;
    } else {
      fail(`unexpected argument ${arg}`);
    }
  }
  if (!a.model || !a.outDir || a.outputs.length === 0) {
    fail('usage: ort_bench_peer.js MODEL --threads N --input NAME=FILE.npy ... --output NAME ... --output-dir DIR');
  }
  return a;
}

function main() {
  const a = parseArgs(process.argv.slice(2));
  const ortDir = path.join(__dirname, '..', '.peers', 'node_modules', 'onnxruntime-node');
  let binding, initOrt, Tensor, version;
  try {
    ({ binding, initOrt } = require(path.join(ortDir, 'dist', 'binding')));
    // the same onnxruntime-common instance the binding was initialized with
    ({ Tensor } = require(require.resolve('onnxruntime-common', { paths: [ortDir] })));
    version = JSON.parse(fs.readFileSync(path.join(ortDir, 'package.json'), 'utf8')).version;
  } catch (e) {
    fail(`cannot load onnxruntime-node from ${ortDir} (run scripts/install-deps.sh): ${e.message}`);
  }
  const t0 = process.hrtime.bigint();
  let session;
  try {
    initOrt();
    session = new binding.InferenceSession();
    session.loadModel(a.model, {
      executionProviders: ['cpu'],
      intraOpNumThreads: a.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
    });
  } catch (e) {
    fail(`${a.model}: ONNX Runtime cannot load the model: ${e.message}`);
  }
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const feeds = {};
  for (const inp of a.inputs) {
    try {
      const t = readNpy(inp.file);
      feeds[inp.name] = new Tensor(t.type, t.data, t.dims);
    } catch (e) {
      fail(`input '${inp.name}': ${e.message}`);
    }
  }
  const known = session.outputMetadata.map((m) => m.name);
  const fetches = {};
  for (const name of a.outputs) {
    if (!known.includes(name)) fail(`ONNX Runtime sees no output '${name}'; the model's outputs: ${known.join(', ')}`);
    fetches[name] = null;
  }
  const run = () => session.run(feeds, fetches, {});
  let results;
  try {
    results = run();
  } catch (e) {
    fail(`${a.model}: ONNX Runtime run failed: ${e.message}`);
  }
  fs.mkdirSync(a.outDir, { recursive: true });
  a.outputs.forEach((name, i) => {
    const t = results[name];
    if (!t) fail(`ONNX Runtime gave no output '${name}'`);
    try {
      writeNpy(path.join(a.outDir, `${i}.npy`), t.type, t.dims, t.data);
    } catch (e) {
      fail(`output '${name}': ${e.message}`);
    }
  });
  results = null;
  process.stdout.write(`ready ${JSON.stringify({ version, load_ms: loadMs, baseline_rss_kib: baselineRssKib })}\n`);

  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  rl.on('line', (line) => {
    const cmd = line.trim();
    if (cmd === 'run') {
      const s = process.hrtime.bigint();
      run();
      const e = process.hrtime.bigint();
      process.stdout.write(`${e - s}\n`);
    } else if (cmd === 'quit') {
      process.exit(0);
    } else if (cmd.length) {
      fail(`unknown request '${cmd}'`);
    }
  });
  rl.on('close', () => process.exit(0));
}

main();
