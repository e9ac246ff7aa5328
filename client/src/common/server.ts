/**
 * The language server's lifecycle: resolve the command (which Python, which torchmode),
 * start the client, restart on demand, and never loop on a server that keeps dying.
 *
 * Every (re)start goes through one queue, so a burst of setting changes and interpreter
 * events never runs two servers at once; restarts asked for while one is waiting merge.
 */
import * as fs from "fs";
import * as path from "path";
import * as vscode from "vscode";
import {
  CloseAction,
  CloseHandlerResult,
  DidChangeConfigurationNotification,
  ErrorAction,
  ErrorHandler,
  ErrorHandlerResult,
  LanguageClient,
  LanguageClientOptions,
  RevealOutputChannelOn,
  ServerOptions,
  State,
  TransportKind,
} from "vscode-languageclient/node";
import { BUNDLED_LAUNCHER, DISPLAY_NAME, SECTION } from "./constants";
import { describeError, log, traceError, traceInfo, traceWarn } from "./logging";
import { notifyError } from "./notifications";
import { PythonInfo, SetupError, findInterpreter, formatVersion, isSupported, probe } from "./python";
import { Settings, describeSettings, getSettings, primaryFolder, serverSettings } from "./settings";
import { ServerStatus } from "./status";

/** How a server is started: the Python and the arguments that run `torchmode lsp`. */
export interface ServerCommand {
  python: string;
  args: string[];
  cwd: string;
  /** For the log and the status item. */
  description: string;
}

// A server that dies this often this fast is broken, not unlucky: stop restarting it.
const MAX_RESTARTS = 3;
const RESTART_WINDOW_MS = 3 * 60_000;
const STOP_TIMEOUT_MS = 3_000;

export class ServerManager implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private queue: Promise<void> = Promise.resolve();
  private disposed = false;
  private restartWaiting = false;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly status: ServerStatus,
  ) {}

  /** The running client, if any (commands use it to send requests). */
  get runningClient(): LanguageClient | undefined {
    return this.client?.state === State.Running ? this.client : undefined;
  }

  /** Stop any running server and start a new one from the current settings. A restart
   * asked for while another is still waiting its turn joins that one: it will read the
   * settings as they are when it runs. */
  restart(reason: string): Promise<void> {
    if (this.restartWaiting) {
      traceInfo(`restart requested (${reason}); one is already queued`);
      return this.queue;
    }
    this.restartWaiting = true;
    this.queue = this.queue
      .then(() => {
        this.restartWaiting = false;
        return this.doRestart(reason);
      })
      .catch((error) => traceError("restart failed", error));
    return this.queue;
  }

  /** Send changed settings to the running server (settings that do not need a restart). */
  async sendSettings(): Promise<void> {
    const client = this.runningClient;
    if (client === undefined) {
      return;
    }
    const settings = getSettings();
    traceInfo(`settings changed: ${describeSettings(settings)}`);
    await client.sendNotification(DidChangeConfigurationNotification.type, {
      settings: { [SECTION]: serverSettings(settings) },
    });
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    await this.queue;
    await this.stopClient();
  }

  private async doRestart(reason: string): Promise<void> {
    if (this.disposed) {
      return;
    }
    traceInfo(`(re)starting the server: ${reason}`);
    await this.stopClient();
    const settings = getSettings();
    if (!settings.enable) {
      traceInfo("torchmode.enable is false: not starting the server");
      this.status.disabled();
      return;
    }
    this.status.starting("looking for Python");
    let command: ServerCommand;
    try {
      command = await this.resolveCommand(settings);
    } catch (error) {
      this.fail(settings, error);
      return;
    }
    await this.startClient(command, settings);
  }

  private fail(settings: Settings, error: unknown): void {
    const message = describeError(error);
    traceError(message);
    if (!(error instanceof SetupError) && error instanceof Error && error.stack) {
      traceError(error.stack);
    }
    this.status.failed(message);
    void notifyError(settings.showNotifications, message, {
      offerSettings: error instanceof SetupError && error.action === "settings",
    });
  }

  /** Find Python, check it, and choose the torchmode it runs: the environment's or the bundled one. */
  async resolveCommand(settings: Settings): Promise<ServerCommand> {
    const folder = primaryFolder();
    // The probe runs `python -c`, which puts its cwd first on sys.path: unless the user asked
    // for the environment's torchmode in a trusted workspace, it runs in a folder of ours, so
    // that no module of the workspace (a json.py, a torchmode/) is ever imported by it.
    const storage = this.context.globalStorageUri.fsPath;
    fs.mkdirSync(storage, { recursive: true });
    const cwd = folder?.uri.fsPath ?? storage;
    const interpreter = await findInterpreter(settings.interpreter, folder);
    traceInfo(`Python: ${interpreter.command} (from ${interpreter.source})`);
    // fromEnvironment imports torchmode as the user's Python would; never in an untrusted workspace.
    const fromEnvironment = settings.importStrategy === "fromEnvironment" && vscode.workspace.isTrusted;
    let base: PythonInfo;
    try {
      base = await probe(interpreter.command, { cwd: fromEnvironment ? cwd : storage, checkTorchmode: fromEnvironment });
    } catch (error) {
      if (interpreter.source === "PATH" && error instanceof SetupError && error.notFound) {
        throw new SetupError(
          `No Python found: ${interpreter.command} is not on PATH, torchmode.interpreter is not set and the Python ` +
            "extension selected no interpreter. Install Python 3.10 or newer, or set torchmode.interpreter to a " +
            "Python executable.",
          "settings",
          true,
        );
      }
      throw error;
    }
    if (!isSupported(base)) {
      throw new SetupError(
        `${base.executable} is Python ${formatVersion(base.version)}; torchmode needs Python 3.10 or newer. ` +
          "Select another interpreter in the Python extension or set torchmode.interpreter.",
        "settings",
      );
    }
    if (fromEnvironment) {
      if (base.torchmode !== undefined) {
        return {
          python: base.executable,
          args: ["-m", "torchmode", "lsp"],
          cwd,
          description: `torchmode ${base.torchmode} from ${base.executable}`,
        };
      }
      traceWarn(
        `importStrategy is fromEnvironment, but torchmode's server does not import in ${base.executable} ` +
          `(${base.torchmodeError ?? "not installed"}); using the bundled server instead`,
      );
    }
    return this.bundledCommand(base, cwd);
  }

  /**
   * The server the .vsix carries, run by the user's Python as it is: nothing is installed,
   * no environment is made, no network is needed. `-I` keeps PYTHONPATH, the user site and
   * the cwd (the workspace) off sys.path; the launcher puts bundled/libs first, so the pinned
   * pygls, lsprotocol... win over whatever versions the interpreter has installed.
   */
  private bundledCommand(base: PythonInfo, cwd: string): ServerCommand {
    const launcher = path.join(this.context.extensionPath, BUNDLED_LAUNCHER);
    if (!fs.existsSync(launcher)) {
      throw new SetupError(
        `This torchmode extension is incomplete: ${launcher} is missing. Reinstall the extension, or install ` +
          "torchmode into your Python environment and set torchmode.importStrategy to fromEnvironment.",
      );
    }
    const version = (this.context.extension.packageJSON as { version?: string }).version ?? "?";
    return {
      python: base.executable,
      args: ["-I", launcher, "lsp"],
      cwd,
      description: `bundled torchmode ${version} (Python ${formatVersion(base.version)} at ${base.executable})`,
    };
  }

  private async startClient(command: ServerCommand, settings: Settings): Promise<void> {
    traceInfo(`starting ${command.description}: ${command.python} ${command.args.join(" ")} (cwd ${command.cwd})`);
    traceInfo(`settings: ${describeSettings(settings)}`);
    this.status.starting(command.description);
    const serverOptions: ServerOptions = {
      command: command.python,
      args: command.args,
      transport: TransportKind.stdio,
      options: { cwd: command.cwd, env: { ...process.env, PYTHONUNBUFFERED: "1" } },
    };
    const errorHandler = new RestartLimiter((message) => {
      this.status.failed(message);
      void notifyError(settings.showNotifications, message);
    });
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        { scheme: "file", language: "python" },
        { scheme: "untitled", language: "python" },
        // Python cells of Jupyter notebooks: hovers, code actions and hints in cells. Their
        // text is synced by the notebook feature (the server declares notebookDocumentSync),
        // never as lone text documents: one cell alone is not the program.
        { notebook: "jupyter-notebook", language: "python" },
      ],
      outputChannel: log(),
      traceOutputChannel: log(),
      revealOutputChannelOn: RevealOutputChannelOn.Never,
      initializationOptions: { settings: serverSettings(settings), debounceMs: settings.debounceMs },
      // The server answers pulls (textDocument/diagnostic, workspace/diagnostic). Pull after
      // every change and save, not only on open: the server waits out its own debounce.
      diagnosticPullOptions: { onChange: true, onSave: true },
      // No retry: startClient's catch reports the failure once.
      initializationFailedHandler: (error) => {
        traceError("the server failed to initialize", error);
        return false;
      },
      errorHandler,
      middleware: {
        workspace: {
          // The server asks for the `torchmode` section; answer in its shape, not VS Code's.
          configuration: async (params, token, next) => {
            const answers = await next(params, token);
            if (!Array.isArray(answers)) {
              return answers;
            }
            return params.items.map((item, index) =>
              item.section === SECTION
                ? serverSettings(getSettings(item.scopeUri ? vscode.workspace.getWorkspaceFolder(vscode.Uri.parse(item.scopeUri)) : undefined))
                : answers[index],
            );
          },
        },
      },
    };
    const client = new QuietLanguageClient(SECTION, DISPLAY_NAME, serverOptions, clientOptions);
    this.client = client;
    try {
      await client.start();
      errorHandler.started();
      this.status.running(command.description);
      traceInfo("server started");
    } catch (error) {
      traceError("starting the server failed", error);
      // The log already has the server's stderr (a traceback, a missing module...).
      errorHandler.report(
        `the server (${command.description}) exited or failed while starting. Its output is in the log.`,
      );
      await this.stopClient();
    }
  }

  private async stopClient(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client === undefined) {
      return;
    }
    try {
      if (client.needsStop()) {
        await client.stop(STOP_TIMEOUT_MS);
      }
    } catch (error) {
      traceWarn(`stopping the server: ${describeError(error)}`);
    }
    try {
      await client.dispose(STOP_TIMEOUT_MS);
    } catch {
      // already stopped
    }
  }
}

/**
 * vscode-languageclient pops up its own error when a start fails ("couldn't create
 * connection to server"), beside ours. Here its errors go to the log only; the
 * extension shows the one notification, with "Show Logs".
 */
class QuietLanguageClient extends LanguageClient {
  override error(message: string, data?: unknown, _showNotification?: boolean | "force"): void {
    super.error(message, data, false);
  }
}

/**
 * Restarts a server that exits unexpectedly, at most MAX_RESTARTS times in
 * RESTART_WINDOW_MS; a server that dies before it finished starting is not restarted
 * at all (it would die again). Either way the user gets one notification.
 */
class RestartLimiter implements ErrorHandler {
  private restarts: number[] = [];
  private hasStarted = false;
  private reported = false;

  /** `onFailure` shows the one notification and marks the status item. */
  constructor(private readonly onFailure: (message: string) => void) {}

  started(): void {
    this.hasStarted = true;
  }

  error(_error: Error, _message: unknown, count: number | undefined): ErrorHandlerResult {
    if (count !== undefined && count <= 3) {
      return { action: ErrorAction.Continue, handled: true };
    }
    this.report("the connection to the server keeps failing; it was stopped.");
    return { action: ErrorAction.Shutdown, handled: true };
  }

  closed(): CloseHandlerResult {
    if (!this.hasStarted) {
      // startClient's catch reports it.
      return { action: CloseAction.DoNotRestart, handled: true };
    }
    const now = Date.now();
    this.restarts = this.restarts.filter((time) => now - time < RESTART_WINDOW_MS);
    if (this.restarts.length >= MAX_RESTARTS) {
      this.report(
        `the server stopped ${MAX_RESTARTS + 1} times in ${RESTART_WINDOW_MS / 60_000} minutes and is not restarted ` +
          'again. Run "torchmode: Restart Server" once the cause in the log is fixed.',
      );
      return { action: CloseAction.DoNotRestart, handled: true };
    }
    this.restarts.push(now);
    traceWarn(`the server stopped unexpectedly; restarting it (${this.restarts.length} of ${MAX_RESTARTS})`);
    return { action: CloseAction.Restart, handled: true };
  }

  /** One notification per server start, whatever fails. */
  report(message: string): void {
    traceError(message);
    if (!this.reported) {
      this.reported = true;
      this.onFailure(message);
    }
  }
}
