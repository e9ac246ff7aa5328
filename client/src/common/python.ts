/**
 * Finding the Python that runs the torchmode server.
 *
 * Order, as in the VS Code Python-tool extensions: the `torchmode.interpreter` setting;
 * else the interpreter selected in the Python extension, when it is installed (there
 * is no hard dependency on it); else `python3` (`python` on Windows) on PATH.
 * Every candidate is probed by running it: version >= 3.10 and, for importStrategy
 * `fromEnvironment`, whether torchmode's server imports there.
 */
import * as fs from "fs";
import * as path from "path";
import * as vscode from "vscode";
import { MIN_PYTHON, PYTHON_EXTENSION_ID } from "./constants";
import { traceInfo, traceVerbose, traceWarn, describeError } from "./logging";
import { runProcess, tail } from "./process";

export type InterpreterSource = "torchmode.interpreter" | "Python extension" | "PATH";

export interface Interpreter {
  /** What to run: a path, or a command name looked up on PATH. */
  command: string;
  source: InterpreterSource;
}

export interface PythonInfo {
  executable: string;
  version: [number, number, number];
  /** torchmode's version when `torchmode.lsp.server` imports in this environment. */
  torchmode?: string;
  /** Why it does not import, when it does not. */
  torchmodeError?: string;
}

/** A failure the user can act on: the message says what to do; the log has the details. */
export class SetupError extends Error {
  constructor(
    message: string,
    readonly action?: "settings",
    /** The interpreter does not exist (as opposed to: it exists and failed). */
    readonly notFound = false,
  ) {
    super(message);
  }
}

// Must run on any Python, 2.7 included, to say what is wrong instead of failing to parse.
const PROBE = `
import json, sys
info = {"executable": sys.executable, "version": list(sys.version_info[:3])}
if sys.version_info >= (3, 10) and "--torchmode" in sys.argv:
    try:
        import torchmode
        import torchmode.lsp.server
        info["torchmode"] = getattr(torchmode, "__version__", "unknown")
    except Exception as error:
        info["torchmodeError"] = "%s: %s" % (type(error).__name__, error)
sys.stdout.write("TORCHMODE_PROBE " + json.dumps(info) + "\\n")
`;

const PROBE_TIMEOUT_MS = 60_000;

export function formatVersion(version: readonly number[]): string {
  return version.join(".");
}

export function isSupported(info: PythonInfo): boolean {
  const [major, minor] = info.version;
  return major > MIN_PYTHON[0] || (major === MIN_PYTHON[0] && minor >= MIN_PYTHON[1]);
}

/** Run the probe; `checkTorchmode` also imports the server (slower: it loads pygls). */
export async function probe(
  command: string,
  options: { cwd: string; checkTorchmode: boolean },
): Promise<PythonInfo> {
  const args = ["-c", PROBE, ...(options.checkTorchmode ? ["--torchmode"] : [])];
  const result = await runProcess(command, args, { cwd: options.cwd, timeoutMs: PROBE_TIMEOUT_MS });
  if (result.spawnError) {
    const reason = result.spawnError.code === "ENOENT" ? "no such file or command" : result.spawnError.message;
    throw new SetupError(
      `Cannot run the Python interpreter ${command} (${reason}).`,
      "settings",
      result.spawnError.code === "ENOENT",
    );
  }
  const line = result.stdout.split(/\r?\n/).find((candidate) => candidate.startsWith("TORCHMODE_PROBE "));
  if (result.code !== 0 || line === undefined) {
    const output = tail(result.stderr || result.stdout) || (result.timedOut ? "timed out" : `exit code ${result.code}`);
    traceWarn(`probing ${command} failed:\n${output}`);
    throw new SetupError(
      `${command} did not run as a Python interpreter: ${output.split("\n").pop()}`,
      "settings",
    );
  }
  const info = JSON.parse(line.slice("TORCHMODE_PROBE ".length)) as PythonInfo;
  traceVerbose(`probe of ${command}: ${JSON.stringify(info)}`);
  return info;
}

// --- the Python extension (optional) ----------------------------------------------------

/** The part of the Python extension's API used here (its `environments` API, 2023 and later). */
interface PythonExtensionApi {
  ready?: Thenable<void>;
  environments?: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { id: string; path: string };
    resolveEnvironment(
      environment: { id: string; path: string } | string,
    ): Thenable<{ executable: { uri?: vscode.Uri } } | undefined>;
    onDidChangeActiveEnvironmentPath: vscode.Event<unknown>;
  };
}

async function pythonExtensionApi(): Promise<PythonExtensionApi | undefined> {
  const extension = vscode.extensions.getExtension<PythonExtensionApi>(PYTHON_EXTENSION_ID);
  if (extension === undefined) {
    return undefined;
  }
  try {
    const api = extension.isActive ? extension.exports : await extension.activate();
    await api?.ready;
    return api;
  } catch (error) {
    traceWarn(`the Python extension did not activate: ${describeError(error)}`);
    return undefined;
  }
}

async function fromPythonExtension(folder: vscode.WorkspaceFolder | undefined): Promise<string | undefined> {
  const environments = (await pythonExtensionApi())?.environments;
  if (environments === undefined) {
    return undefined;
  }
  try {
    const active = environments.getActiveEnvironmentPath(folder?.uri);
    const resolved = await environments.resolveEnvironment(active);
    return resolved?.executable.uri?.fsPath ?? active.path;
  } catch (error) {
    traceWarn(`the Python extension gave no interpreter: ${describeError(error)}`);
    return undefined;
  }
}

/** Fires when the interpreter selected in the Python extension changes. */
export async function onDidChangePythonInterpreter(listener: () => void): Promise<vscode.Disposable | undefined> {
  const environments = (await pythonExtensionApi())?.environments;
  return environments?.onDidChangeActiveEnvironmentPath(() => listener());
}

export function isInsideWorkspace(file: string): boolean {
  const resolved = safeRealpath(file);
  return (vscode.workspace.workspaceFolders ?? []).some((folder) => {
    const root = safeRealpath(folder.uri.fsPath);
    const relative = path.relative(root, resolved);
    return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative));
  });
}

function safeRealpath(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}

/**
 * The interpreter to use. In an untrusted workspace, an interpreter inside the
 * workspace is never run: it could be anything the workspace's author put there.
 * (VS Code already ignores the workspace's own value of `torchmode.interpreter` then.)
 */
export async function findInterpreter(
  configured: string,
  folder: vscode.WorkspaceFolder | undefined,
): Promise<Interpreter> {
  const trusted = vscode.workspace.isTrusted;
  if (configured !== "") {
    if (!trusted && path.isAbsolute(configured) && isInsideWorkspace(configured)) {
      throw new SetupError(
        `torchmode.interpreter (${configured}) is inside this workspace, which you do not trust; ` +
          "trust the workspace or choose an interpreter outside it.",
        "settings",
      );
    }
    return { command: configured, source: "torchmode.interpreter" };
  }
  const selected = await fromPythonExtension(folder);
  if (selected) {
    if (!trusted && isInsideWorkspace(selected)) {
      traceInfo(`not using ${selected} from the Python extension: it is inside an untrusted workspace`);
    } else {
      return { command: selected, source: "Python extension" };
    }
  }
  return { command: process.platform === "win32" ? "python" : "python3", source: "PATH" };
}
