/** `torchmode.fixAll`: ask the server for its `source.fixAll.torchmode` action on the active file and apply it. */
import * as vscode from "vscode";
import { CodeAction, CodeActionRequest, CodeActionTriggerKind, Command } from "vscode-languageclient/node";
import { FIX_ALL_KIND } from "./constants";
import { traceInfo } from "./logging";
import { notifyError } from "./notifications";
import { getSettings } from "./settings";
import { ServerManager } from "./server";

export async function fixAll(manager: ServerManager): Promise<boolean> {
  const editor = vscode.window.activeTextEditor;
  const settings = getSettings();
  if (editor === undefined || editor.document.languageId !== "python") {
    void vscode.window.showInformationMessage("torchmode: open a Python file to fix.");
    return false;
  }
  const client = manager.runningClient;
  if (client === undefined) {
    await notifyError(settings.showNotifications, "the server is not running, so there is nothing to fix with.");
    return false;
  }
  const document = editor.document;
  const end = document.lineAt(document.lineCount - 1).range.end;
  const result = await client.sendRequest(CodeActionRequest.type, {
    textDocument: client.code2ProtocolConverter.asTextDocumentIdentifier(document),
    range: client.code2ProtocolConverter.asRange(new vscode.Range(0, 0, end.line, end.character)),
    context: { diagnostics: [], only: [FIX_ALL_KIND], triggerKind: CodeActionTriggerKind.Invoked },
  });
  const action = (result ?? []).find(
    (item: Command | CodeAction): item is CodeAction => "kind" in item && item.kind === FIX_ALL_KIND && item.edit !== undefined,
  );
  if (action?.edit === undefined) {
    vscode.window.setStatusBarMessage("torchmode: nothing to fix", 4000);
    return false;
  }
  const edit = await client.protocol2CodeConverter.asWorkspaceEdit(action.edit);
  const applied = await vscode.workspace.applyEdit(edit);
  traceInfo(`fix all on ${document.uri.toString()}: ${applied ? "applied" : "not applied"}`);
  return applied;
}
