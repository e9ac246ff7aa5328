// Builds the torchmode server wheel into dist/wheels/, where the .vsix picks it up.
// The extension installs this wheel into a private virtual environment when the
// user's Python has no torchmode (importStrategy useBundled, the default).
//
// Python: $TORCHMODE_BUILD_PYTHON, else the project's .venv, else python3.
// With setuptools >= 68 in that Python the build needs no network at all
// (--no-build-isolation); otherwise pip fetches setuptools from the package index.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..", "..");
const outDir = path.join(root, "dist", "wheels");

function pickPython() {
  if (process.env.TORCHMODE_BUILD_PYTHON) return process.env.TORCHMODE_BUILD_PYTHON;
  const venv = path.join(root, ".venv", process.platform === "win32" ? "Scripts/python.exe" : "bin/python");
  return existsSync(venv) ? venv : process.platform === "win32" ? "python" : "python3";
}

function projectVersion() {
  const pyproject = readFileSync(path.join(root, "pyproject.toml"), "utf8");
  const project = pyproject.split(/^\[/m).find((table) => table.startsWith("project]"));
  const match = project?.match(/^version\s*=\s*"([^"]+)"/m);
  if (!match) throw new Error("no version in [project] of pyproject.toml");
  return match[1];
}

const extensionVersion = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).version;
const serverVersion = projectVersion();
if (extensionVersion !== serverVersion) {
  console.error(
    `package.json has version ${extensionVersion} but pyproject.toml has ${serverVersion}: ` +
      "the extension must ship the server of its own version; make them equal.",
  );
  process.exit(1);
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

// setuptools copies into build/lib and never deletes from it: a stale copy would put
// modules removed from the sources back into the wheel.
rmSync(path.join(root, "build"), { recursive: true, force: true });
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });
execFileSync(
  python,
  ["-m", "pip", "wheel", ".", "--no-deps", "--no-input", "--disable-pip-version-check", "--quiet", ...isolation, "-w", outDir],
  { cwd: root, stdio: "inherit" },
);
rmSync(path.join(root, "build"), { recursive: true, force: true });

const wheels = readdirSync(outDir).filter((name) => name.endsWith(".whl"));
const expected = `torchmode-${serverVersion}-py3-none-any.whl`;
if (wheels.length !== 1 || wheels[0] !== expected) {
  console.error(`expected exactly ${expected} in ${outDir}, found: ${wheels.join(", ") || "nothing"}`);
  process.exit(1);
}
console.log(`server wheel: dist/wheels/${expected}`);
