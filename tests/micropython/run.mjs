#!/usr/bin/env node
// Runs the firmware's MicroPython-side tests inside real MicroPython (the
// WebAssembly build from npm, @micropython/micropython-webassembly-pyscript).
//
//   node tests/micropython/run.mjs            run every tests/micropython/test_*.py
//   node tests/micropython/run.mjs test_grant.py test_link.py::test_replay_refused
//   node tests/micropython/run.mjs --list     print the test ids, one per line
//   node tests/micropython/run.mjs --json     print the results as one JSON object
//   --heap BYTES                              MicroPython GC heap (default 128 KiB)
//   --firmware DIR                            the device's code from DIR instead of firmware/:
//                                             a release folder (boot.py and compiled .mpy)
//
// Each test module gets a fresh interpreter with a fresh in-memory filesystem:
//   /            every code file (.py, .mpy) of firmware/ or --firmware DIR, as on
//                the device (and cwd, as on the device)
//   /lib         shim/*.py: `machine` and the port fixes (portfix.py)
//   /tests       the test module, mptest.py, host_vectors.py, runner.json
// A test is a module-level function named test_*; it passes unless it raises.
// setup_function() / teardown_function(), if the module has them, run around
// each test. Output: one line per test, then "N passed, M failed"; the exit
// code is 0 only if every selected test passed.
//
// Values come back from MicroPython as JSON strings: numbers crossing into JS
// are cut to 32 bits, and tick counts and hashes must arrive intact.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, "..", "..");
const FIRMWARE = join(ROOT, "firmware");
const SHIM = join(HERE, "shim");
const SUPPORT = ["mptest.py", "host_vectors.py"];
const PACKAGE = "@micropython/micropython-webassembly-pyscript";

// -- arguments ------------------------------------------------------------------

const args = process.argv.slice(2);
let json = false;
let list = false;
// 128 KiB: about the GC heap MicroPython gets on an ESP32 without PSRAM (wasm32 and
// Xtensa both have 4-byte words, so objects cost the same); the suite fits in 64 KiB.
let heap = 128 * 1024;
let firmwareDir = FIRMWARE;
const selectors = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--json") json = true;
  else if (a === "--list") list = true;
  else if (a === "--heap") heap = parseInt(args[++i], 10);
  else if (a === "--firmware") firmwareDir = resolve(args[++i]);
  else if (a === "-h" || a === "--help") {
    console.log(readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").slice(1, 11).join("\n"));
    process.exit(0);
  } else if (a.startsWith("-")) {
    console.error(`run.mjs: unknown option ${a}`);
    process.exit(2);
  } else selectors.push(a);
}

// -- discovery ------------------------------------------------------------------

function pyFiles(dir) {
  return readdirSync(dir).filter((n) => n.endsWith(".py")).sort();
}

// Tests in file order, found the way a reader finds them: `def test_...(` at column 0.
const modules = pyFiles(HERE)
  .filter((n) => /^test_\w+\.py$/.test(n))
  .map((file) => {
    const source = readFileSync(join(HERE, file), "utf8");
    const names = [...source.matchAll(/^def (test_\w+)\s*\(/gm)].map((m) => m[1]);
    return { file, source, names };
  });

function selected(file, name) {
  if (selectors.length === 0) return true;
  return selectors.some((s) => s === file || s === `${file}::${name}`);
}

const plan = modules
  .map((m) => ({ ...m, names: m.names.filter((n) => selected(m.file, n)) }))
  .filter((m) => m.names.length > 0);

if (list) {
  for (const m of plan) for (const n of m.names) console.log(`${m.file}::${n}`);
  process.exit(0);
}
if (plan.length === 0) {
  console.error(`run.mjs: no tests match ${selectors.join(" ")}`);
  process.exit(2);
}

let loadMicroPython;
try {
  ({ loadMicroPython } = await import(PACKAGE));
} catch (err) {
  console.error(`run.mjs: cannot load ${PACKAGE} (${err.code || err.message}).`);
  console.error("Install it with `make setup` (npm ci --prefix tests/micropython).");
  process.exit(3);
}

// -- the device's filesystem ---------------------------------------------------------

// The code files firmware/fwhash.py counts: what the device runs, source or compiled.
const firmware = readdirSync(firmwareDir)
  .filter((n) => n.endsWith(".py") || n.endsWith(".mpy"))
  .sort()
  .map((n) => [n, readFileSync(join(firmwareDir, n))]);
const shims = pyFiles(SHIM).map((n) => [n, readFileSync(join(SHIM, n))]);
const support = SUPPORT.map((n) => [n, readFileSync(join(HERE, n))]);

// firmware/fwhash.py's rule, computed independently here: SHA-256 over, in name
// order, each code file's name, a NUL and the file's own SHA-256.
function firmwareHash(files) {
  const total = createHash("sha256");
  for (const [name, data] of [...files].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    total.update(Buffer.from(name, "utf8"));
    total.update(Buffer.from([0]));
    total.update(createHash("sha256").update(data).digest());
  }
  return total.digest("hex");
}
const fwhashExpected = firmwareHash(firmware);
const runnerInfo = JSON.stringify({ fwhash: fwhashExpected, firmware: firmware.map(([n]) => n) });

// The driver: runs one test by name and leaves its outcome, as JSON, in _qt_result.
const DRIVER = `
import io, json, sys
def _qt_hook(name):
    f = getattr(_qt_mod, name, None)
    if f is not None:
        f()
def _qt_run(name):
    global _qt_result
    out = {"name": name}
    try:
        _qt_hook("setup_function")
        try:
            getattr(_qt_mod, name)()
        finally:
            _qt_hook("teardown_function")
        out["ok"] = True
    except BaseException as e:  # machine.Reset and StopLoop are BaseExceptions too
        buf = io.StringIO()
        sys.print_exception(e, buf)
        out["ok"] = False
        out["error"] = buf.getvalue()
    _qt_result = json.dumps(out)
`;

// The host side of the device's UART, for the tests as module `hostuart`:
//   rx(byte)  the UART's receive interrupt as the ESP32 port has it (ports/esp32/uart.c):
//             the interrupt character (micropython.kbd_intr; -1 for none) schedules
//             KeyboardInterrupt in the running code and returns false; any other byte
//             returns true, for the receive buffer. Both calls are MicroPython's own.
//   tx()      what the code has written to stdout (the UART) during this test.
function hostUart(mp, output) {
  const M = mp._module;
  return {
    rx: (byte) => {
      if (byte === M._mp_hal_get_interrupt_char()) {
        M._mp_sched_keyboard_interrupt();
        return false;
      }
      return true;
    },
    tx: () => output.join("\n"),
  };
}

async function boot(m, output) {
  const mp = await loadMicroPython({
    heapsize: heap,
    linebuffer: true,
    stdout: (line) => output.push(line),
    stderr: (line) => output.push(line),
  });
  mp.registerJsModule("hostuart", hostUart(mp, output));
  const FS = mp.FS;
  FS.mkdir("/lib");
  FS.mkdir("/tests");
  for (const [n, data] of firmware) FS.writeFile(`/${n}`, data);
  for (const [n, data] of shims) FS.writeFile(`/lib/${n}`, data);
  for (const [n, data] of support) FS.writeFile(`/tests/${n}`, data);
  FS.writeFile(`/tests/${m.file}`, m.source);
  FS.writeFile("/tests/runner.json", runnerInfo);
  const mod = m.file.slice(0, -3);
  mp.runPython(`
import os, sys
os.chdir("/")
sys.path.append("/tests")
_qt_result = None
try:
    import portfix
    _qt_mod = __import__(${JSON.stringify(mod)})
except BaseException as e:
    import io
    _b = io.StringIO()
    sys.print_exception(e, _b)
    _qt_result = _b.getvalue()
${DRIVER}`);
  const importError = mp.globals.get("_qt_result");
  return { mp, importError };
}

// -- running ---------------------------------------------------------------------

const results = [];
const started = Date.now();
let version = null;

function report(r) {
  results.push(r);
  if (json) return;
  console.log(`${r.ok ? "PASS" : "FAIL"}  ${r.id}  (${r.ms} ms)`);
  if (!r.ok) {
    for (const line of r.error.trimEnd().split("\n")) console.log(`      ${line}`);
    if (r.output) for (const line of r.output.trimEnd().split("\n")) console.log(`      | ${line}`);
  }
}

for (const m of plan) {
  let output = [];
  let vm = null;
  for (const name of m.names) {
    const id = `${m.file}::${name}`;
    const t0 = Date.now();
    try {
      if (vm === null) {
        output = [];
        vm = await boot(m, output);
        if (version === null) {
          vm.mp.runPython("import sys\n_qt_version = sys.version");
          version = vm.mp.globals.get("_qt_version");
        }
      }
      if (vm.importError) {
        report({ id, ok: false, ms: Date.now() - t0, error: `importing ${m.file} failed:\n${vm.importError}`, output: output.join("\n") });
        continue;
      }
      output.length = 0;
      vm.mp.runPython(`_qt_run(${JSON.stringify(name)})`);
      const r = JSON.parse(vm.mp.globals.get("_qt_result"));
      report({ id, ok: r.ok, ms: Date.now() - t0, error: r.error || "", output: output.join("\n") });
    } catch (err) {
      // The interpreter itself failed (a wasm trap, an uncaught PythonError):
      // count the test as failed and give the rest of the module a fresh one.
      report({ id, ok: false, ms: Date.now() - t0, error: `interpreter error: ${err && err.stack ? err.stack : err}`, output: output.join("\n") });
      vm = null;
    }
  }
}

const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
if (json) {
  console.log(JSON.stringify({ micropython: version, heap, fwhash_expected: fwhashExpected, passed, failed, ms: Date.now() - started, results }));
} else {
  console.log(`MicroPython ${version}, heap ${heap} bytes, ${Date.now() - started} ms`);
  console.log(`${passed} passed, ${failed} failed`);
}
process.exit(failed === 0 ? 0 : 1);
