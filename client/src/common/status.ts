/** The language status item ({} torchmode in the status bar of Python files): which server runs, or what failed. */
import * as vscode from "vscode";
import { COMMANDS, DISPLAY_NAME } from "./constants";

export class ServerStatus implements vscode.Disposable {
  private readonly item: vscode.LanguageStatusItem;

  constructor() {
    this.item = vscode.languages.createLanguageStatusItem(`${DISPLAY_NAME}.status`, [
      { language: "python" },
      { notebookType: "jupyter-notebook", language: "python" },
    ]);
    this.item.name = DISPLAY_NAME;
    this.item.command = { title: "Show Logs", command: COMMANDS.showLogs };
    this.starting("starting");
  }

  starting(detail: string): void {
    this.item.text = DISPLAY_NAME;
    this.item.detail = detail;
    this.item.busy = true;
    this.item.severity = vscode.LanguageStatusSeverity.Information;
  }

  running(detail: string): void {
    this.item.text = DISPLAY_NAME;
    this.item.detail = detail;
    this.item.busy = false;
    this.item.severity = vscode.LanguageStatusSeverity.Information;
  }

  disabled(): void {
    this.item.text = `${DISPLAY_NAME} (off)`;
    this.item.detail = "torchmode.enable is false";
    this.item.busy = false;
    this.item.severity = vscode.LanguageStatusSeverity.Information;
  }

  failed(detail: string): void {
    this.item.text = `${DISPLAY_NAME}: not running`;
    this.item.detail = detail;
    this.item.busy = false;
    this.item.severity = vscode.LanguageStatusSeverity.Error;
  }

  dispose(): void {
    this.item.dispose();
  }
}
