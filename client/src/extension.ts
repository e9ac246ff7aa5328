/**
 * torchmode for VS Code: activation wires the log, the commands and the listeners; the
 * modules under common/ do the work (python: finding Python; server: the language client's
 * lifecycle and which torchmode it runs; settings).
 */
import * as vscode from "vscode";
import { checkWorkspace } from "./common/checkWorkspace";
import { COMMANDS, RESTART_SETTINGS, SECTION } from "./common/constants";
import { fixAll } from "./common/fixAll";
import { createLog, showLogs, traceError, traceInfo } from "./common/logging";
import { onDidChangePythonInterpreter } from "./common/python";
import { ServerManager } from "./common/server";
import { getSettings } from "./common/settings";
import { ServerStatus } from "./common/status";

let manager: ServerManager | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const log = createLog();
  context.subscriptions.push(log);
  const version = (context.extension.packageJSON as { version?: string }).version ?? "?";
  traceInfo(`torchmode ${version} activating (VS Code ${vscode.version}, ${process.platform}-${process.arch})`);

  const status = new ServerStatus();
  const serverManager = new ServerManager(context, status);
  manager = serverManager;
  context.subscriptions.push(status, { dispose: () => void serverManager.dispose() });

  context.subscriptions.push(
    vscode.commands.registerCommand(COMMANDS.restart, () => serverManager.restart("the restart command")),
    vscode.commands.registerCommand(COMMANDS.showLogs, showLogs),
    vscode.commands.registerCommand(COMMANDS.fixAll, () => fixAll(serverManager)),
    vscode.commands.registerCommand(COMMANDS.checkWorkspace, () => checkWorkspace(serverManager)),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (RESTART_SETTINGS.some((key) => event.affectsConfiguration(key))) {
        void serverManager.restart("a setting changed");
      } else if (event.affectsConfiguration(SECTION)) {
        serverManager.sendSettings().catch((error) => traceError("sending the settings failed", error));
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(() => serverManager.restart("the workspace is now trusted")),
    vscode.workspace.onDidChangeWorkspaceFolders(() => serverManager.restart("the workspace folders changed")),
  );

  // Finding and probing Python takes a moment: do not hold up activation for it.
  void serverManager.restart("activation");

  // The Python extension activates lazily; subscribe without waiting for it.
  void onDidChangePythonInterpreter(() => {
    if (getSettings().interpreter === "") {
      void serverManager.restart("the interpreter selected in the Python extension changed");
    }
  }).then((subscription) => {
    if (subscription) {
      context.subscriptions.push(subscription);
    }
  });
}

export async function deactivate(): Promise<void> {
  await manager?.dispose();
  manager = undefined;
}
