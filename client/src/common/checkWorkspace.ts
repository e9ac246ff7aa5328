/**
 * `torchmode.checkWorkspace`: ask the server to discover and check every Python file and
 * notebook of the workspace again, and say what it found. The server shows the progress
 * (cancellable) and answers when it is done.
 */
import * as vscode from "vscode";
import { ExecuteCommandRequest } from "vscode-languageclient/node";
import { SERVER_CHECK_WORKSPACE } from "./constants";
import { traceInfo } from "./logging";
import { notifyError } from "./notifications";
import { ServerManager } from "./server";
import { getSettings } from "./settings";

/** What the server answers (server/torchmode/lsp/server.py, `on_check_workspace`). */
export interface CheckWorkspaceResult {
  checked: boolean;
  files?: number;
  findings?: number;
  filesWithFindings?: number;
  /** In the user's language. */
  message: string;
}

export async function checkWorkspace(manager: ServerManager): Promise<CheckWorkspaceResult | undefined> {
  const client = manager.runningClient;
  if (client === undefined) {
    await notifyError(getSettings().showNotifications, "the server is not running, so the workspace cannot be checked.");
    return undefined;
  }
  const result = (await client.sendRequest(ExecuteCommandRequest.type, {
    command: SERVER_CHECK_WORKSPACE,
    arguments: [],
  })) as CheckWorkspaceResult | null;
  if (result === null || typeof result !== "object") {
    return undefined;
  }
  traceInfo(result.message);
  if (result.checked) {
    vscode.window.setStatusBarMessage(result.message, 8000);
  } else {
    void vscode.window.showInformationMessage(result.message);
  }
  return result;
}
