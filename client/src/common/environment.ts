/**
 * The private environment for the bundled server (importStrategy `useBundled`).
 *
 * torchmode's dependencies include native wheels built per CPython version, so the
 * server cannot be vendored as plain files: the .vsix carries torchmode's own wheel
 * (dist/wheels/), and on first use the extension makes a virtual environment in its
 * global storage from the chosen Python and pip-installs that wheel there; pip takes
 * the wheel's dependencies from the package index the user's pip is configured for.
 *
 * The environment is built in a staging folder and renamed into place only once the
 * server imports from it, together with a marker naming the wheel it holds; a new
 * extension version (another wheel) or another Python gets a new environment. Two
 * windows starting at once each build their own staging copy and the first rename wins.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as vscode from "vscode";
import { BUNDLED_WHEELS_DIR } from "./constants";
import { traceInfo, traceWarn } from "./logging";
import { runProcess, tail } from "./process";
import { PythonInfo, SetupError, formatVersion, probe } from "./python";

const MARKER = "torchmode-env.json";
const VENV_TIMEOUT_MS = 3 * 60_000;
const PIP_TIMEOUT_MS = 10 * 60_000;

interface Marker {
  wheel: string;
  wheelSha256: string;
  baseExecutable: string;
  baseVersion: string;
}

export function venvPython(envDir: string): string {
  return process.platform === "win32" ? path.join(envDir, "Scripts", "python.exe") : path.join(envDir, "bin", "python");
}

export function bundledWheel(extensionPath: string): string {
  const folder = path.join(extensionPath, BUNDLED_WHEELS_DIR);
  const wheels = fs.existsSync(folder) ? fs.readdirSync(folder).filter((name) => name.endsWith(".whl")) : [];
  if (wheels.length !== 1) {
    throw new SetupError(
      `This torchmode extension carries no server wheel (${folder}). Reinstall the extension, or install ` +
        "torchmode into your Python environment and set torchmode.importStrategy to fromEnvironment.",
      "settings",
    );
  }
  return path.join(folder, wheels[0]);
}

function sha256(file: string): string {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

function readMarker(envDir: string): Marker | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(envDir, MARKER), "utf8")) as Marker;
  } catch {
    return undefined;
  }
}

function isReady(envDir: string, expected: Marker): boolean {
  const marker = readMarker(envDir);
  return (
    marker !== undefined &&
    marker.wheelSha256 === expected.wheelSha256 &&
    marker.baseExecutable === expected.baseExecutable &&
    fs.existsSync(venvPython(envDir))
  );
}

/**
 * The Python of a private environment with the bundled server installed; made now if
 * needed, with a progress notification (it takes a few seconds to a minute, once).
 */
export async function ensureBundledEnvironment(storageDir: string, extensionPath: string, base: PythonInfo): Promise<string> {
  const wheel = bundledWheel(extensionPath);
  const expected: Marker = {
    wheel: path.basename(wheel),
    wheelSha256: sha256(wheel),
    baseExecutable: base.executable,
    baseVersion: formatVersion(base.version),
  };
  const key = crypto.createHash("sha256").update(base.executable).digest("hex").slice(0, 12);
  const envsDir = path.join(storageDir, "envs");
  const envDir = path.join(envsDir, `py${base.version[0]}.${base.version[1]}-${key}`);
  if (isReady(envDir, expected)) {
    traceInfo(`bundled server environment: ${envDir} (${expected.wheel})`);
    return venvPython(envDir);
  }
  if (!base.canCreateVenv) {
    throw new SetupError(
      `${base.executable} cannot create virtual environments (its venv/ensurepip modules are missing; on Debian ` +
        "and Ubuntu: apt install python3-venv). Install them, choose another interpreter in torchmode.interpreter, " +
        "or install torchmode into this environment and set torchmode.importStrategy to fromEnvironment.",
      "settings",
    );
  }
  fs.mkdirSync(envsDir, { recursive: true });
  removeLeftovers(envsDir);
  return vscode.window.withProgress(
    {
      location: vscode.ProgressLocation.Notification,
      title: "torchmode: installing its language server (first start only)",
    },
    async (progress) => {
      const staging = `${envDir}.staging-${process.pid}-${Date.now()}`;
      try {
        await build(staging, wheel, base, expected, (message) => progress.report({ message }));
        if (isReady(envDir, expected)) {
          traceInfo(`another window finished ${envDir} first; using it`);
        } else {
          replace(envDir, staging);
        }
      } finally {
        fs.rmSync(staging, { recursive: true, force: true });
      }
      traceInfo(`bundled server environment ready: ${envDir}`);
      return venvPython(envDir);
    },
  );
}

async function build(
  staging: string,
  wheel: string,
  base: PythonInfo,
  marker: Marker,
  report: (message: string) => void,
): Promise<void> {
  const logLine = (line: string) => traceInfo(`  ${line}`);
  report("creating a virtual environment");
  traceInfo(`creating a virtual environment for the server: ${base.executable} -m venv ${staging}`);
  const venv = await runProcess(base.executable, ["-m", "venv", staging], {
    cwd: path.dirname(staging),
    timeoutMs: VENV_TIMEOUT_MS,
    onLine: logLine,
  });
  if (venv.code !== 0) {
    throw new SetupError(
      `Could not create a virtual environment with ${base.executable} (${tail(venv.stderr || venv.stdout, 1) || `exit code ${venv.code}`}).`,
      "settings",
    );
  }
  const python = venvPython(staging);
  report(`installing ${path.basename(wheel)} and its dependencies`);
  traceInfo(`installing ${wheel} into ${staging}`);
  const pip = await runProcess(
    python,
    ["-I", "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--progress-bar", "off", wheel],
    { cwd: path.dirname(staging), timeoutMs: PIP_TIMEOUT_MS, onLine: logLine },
  );
  if (pip.code !== 0) {
    traceWarn(`pip failed (exit code ${pip.code}${pip.timedOut ? ", timed out" : ""})`);
    throw new SetupError(
      `Could not install torchmode's server: pip failed${pip.timedOut ? " (timed out)" : ""}. Its dependencies come ` +
        "from the package index your pip is configured for; is it reachable? Or install torchmode into your " +
        "environment and set torchmode.importStrategy to fromEnvironment.",
    );
  }
  const installed = await probe(python, { cwd: path.dirname(staging), checkTorchmode: true, isolated: true });
  if (installed.torchmode === undefined) {
    throw new SetupError(`torchmode's server was installed but does not start: ${installed.torchmodeError ?? "unknown error"}`);
  }
  fs.writeFileSync(path.join(staging, MARKER), JSON.stringify(marker, undefined, 2));
}

/** Staging folders of installs that were killed midway (a window closed during pip), after an hour. */
function removeLeftovers(envsDir: string): void {
  const hourAgo = Date.now() - 60 * 60_000;
  for (const name of fs.readdirSync(envsDir)) {
    if (!/\.(staging|old)-\d+-\d+$/.test(name)) {
      continue;
    }
    const leftover = path.join(envsDir, name);
    try {
      if (fs.statSync(leftover).mtimeMs < hourAgo) {
        fs.rmSync(leftover, { recursive: true, force: true });
      }
    } catch {
      // another window removed it first
    }
  }
}

/** Put `staging` at `target`, moving an outdated environment out of the way first. */
function replace(target: string, staging: string): void {
  if (fs.existsSync(target)) {
    const old = `${target}.old-${process.pid}-${Date.now()}`;
    fs.renameSync(target, old);
    fs.rmSync(old, { recursive: true, force: true });
  }
  fs.renameSync(staging, target);
}
