// Fills bundled/libs with the torchmode server and its run-time dependencies, which the
// .vsix carries so that the extension starts with the user's Python, offline: no virtual
// environment, no pip at run time (bundled/tool/launch.py puts this folder first on sys.path).
//
// 1. torchmode's own wheel, built from this checkout;
// 2. the pinned dependencies of client/bundled-requirements.txt, hash-checked, and only as
//    py3-none-any wheels (one folder serves every platform and Python 3.10+);
// 3. a check of what landed: every distribution pure Python, tagged py3-none-any, no
//    compiled file, nothing that the requirements file and torchmode do not name.
//
// Python: $TORCHMODE_BUILD_PYTHON, else the project's .venv, else python3. pip fetches the
// pinned wheels from the package index it is configured for (only at build time); the
// wheel build needs no network when that Python has setuptools >= 68.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..", "..");
const libs = path.join(root, "bundled", "libs");
const requirements = path.join(root, "client", "bundled-requirements.txt");
const PURE_TAG = "py3-none-any";

function fail(message) {
  console.error(`bundle-python: ${message}`);
  process.exit(1);
}

function pickPython() {
  if (process.env.TORCHMODE_BUILD_PYTHON) return process.env.TORCHMODE_BUILD_PYTHON;
  const venv = path.join(root, ".venv", process.platform === "win32" ? "Scripts/python.exe" : "bin/python");
  return existsSync(venv) ? venv : process.platform === "win32" ? "python" : "python3";
}

function projectVersion() {
  const pyproject = readFileSync(path.join(root, "pyproject.toml"), "utf8");
  const project = pyproject.split(/^\[/m).find((table) => table.startsWith("project]"));
  const match = project?.match(/^version\s*=\s*"([^"]+)"/m);
  if (!match) fail("no version in [project] of pyproject.toml");
  return match[1];
}

/** `name==version` pins of the requirements file, names normalised as pip does (PEP 503). */
function pinnedNames() {
  const names = new Set();
  for (const line of readFileSync(requirements, "utf8").split(/\r?\n/)) {
    const match = line.match(/^([A-Za-z0-9][A-Za-z0-9._-]*)==/);
    if (match) names.add(normalise(match[1]));
  }
  return names;
}

function normalise(name) {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

const extensionVersion = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).version;
const serverVersion = projectVersion();
if (extensionVersion !== serverVersion) {
  fail(
    `package.json has version ${extensionVersion} but pyproject.toml has ${serverVersion}: ` +
      "the extension must ship the server of its own version; make them equal.",
  );
}

const python = pickPython();
let isolation = [];
try {
  execFileSync(python, ["-c", "import setuptools, sys; sys.exit(int(setuptools.__version__.split('.')[0]) < 68)"], {
    stdio: "ignore",
  });
  isolation = ["--no-build-isolation"];
} catch {
  console.log(`${python} has no setuptools >= 68: pip will fetch it for an isolated build`);
}
const pip = [python, "-m", "pip", "--disable-pip-version-check", "--no-input"];
const run = (args) => execFileSync(args[0], args.slice(1), { cwd: root, stdio: "inherit" });

// 1. torchmode's wheel. setuptools copies into build/lib and never deletes from it: a stale
// copy would put modules removed from the sources back into the wheel.
const scratch = mkdtempSync(path.join(os.tmpdir(), "torchmode-wheel-"));
try {
  rmSync(path.join(root, "build"), { recursive: true, force: true });
  run([...pip, "wheel", ".", "--no-deps", "--quiet", ...isolation, "-w", scratch]);
  rmSync(path.join(root, "build"), { recursive: true, force: true });
  const wheel = `torchmode-${serverVersion}-${PURE_TAG}.whl`;
  const built = readdirSync(scratch);
  if (built.length !== 1 || built[0] !== wheel) fail(`expected exactly ${wheel}, pip built: ${built.join(", ")}`);

  rmSync(libs, { recursive: true, force: true });
  mkdirSync(libs, { recursive: true });
  // --no-compile: no .pyc in the package (Python writes them next to the sources on first run).
  const target = ["install", "--target", libs, "--no-deps", "--no-compile", "--quiet"];
  run([...pip, ...target, path.join(scratch, wheel)]);
  // 2. The dependencies. --platform any --abi none --implementation py admit py3-none-any
  // wheels only; --require-hashes, only the files the lock names.
  run([
    ...pip,
    ...target,
    "--only-binary=:all:",
    "--platform",
    "any",
    "--abi",
    "none",
    "--implementation",
    "py",
    "--python-version",
    "3.10",
    "--require-hashes",
    "-r",
    requirements,
  ]);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
// Console scripts (bin/torchmode) point at the build's Python: useless to a user. pip's
// direct_url.json names the temporary folder torchmode's wheel was built in.
rmSync(path.join(libs, "bin"), { recursive: true, force: true });
for (const entry of readdirSync(libs).filter((name) => name.endsWith(".dist-info"))) {
  rmSync(path.join(libs, entry, "direct_url.json"), { force: true });
}

// 3. What landed.
const expected = pinnedNames();
expected.add("torchmode");
const found = new Set();
for (const entry of readdirSync(libs).filter((name) => name.endsWith(".dist-info"))) {
  const metadata = readFileSync(path.join(libs, entry, "METADATA"), "utf8");
  const name = normalise(metadata.match(/^Name: (.+)$/m)?.[1] ?? entry);
  const wheelInfo = readFileSync(path.join(libs, entry, "WHEEL"), "utf8");
  const tags = [...wheelInfo.matchAll(/^Tag: (.+)$/gm)].map((match) => match[1].trim());
  if (!/^Root-Is-Purelib: true$/m.test(wheelInfo) || tags.length !== 1 || tags[0] !== PURE_TAG) {
    fail(`${entry} is not a pure-Python ${PURE_TAG} wheel (tags: ${tags.join(", ")})`);
  }
  found.add(name);
}
const missing = [...expected].filter((name) => !found.has(name));
const extra = [...found].filter((name) => !expected.has(name));
if (missing.length || extra.length) {
  fail(`bundled/libs does not match the requirements: missing ${missing.join(", ") || "-"}, extra ${extra.join(", ") || "-"}`);
}
const compiled = [];
const walk = (folder) => {
  for (const name of readdirSync(folder)) {
    const file = path.join(folder, name);
    if (statSync(file).isDirectory()) walk(file);
    else if (/\.(so|pyd|dylib|dll|pyc)$/i.test(name)) compiled.push(path.relative(libs, file));
  }
};
walk(libs);
if (compiled.length) fail(`bundled/libs holds compiled files: ${compiled.join(", ")}`);
console.log(`bundled/libs: ${[...found].sort().join(", ")}`);
