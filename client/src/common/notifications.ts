/**
 * Pop-ups, following `torchmode.showNotifications`. A failure is one notification with a
 * "Show Logs" button (and "Open Settings" when a setting is the likely fix); the details
 * are in the log. Nothing here ever retries on its own.
 */
import * as vscode from "vscode";
import { SECTION } from "./constants";
import { showLogs } from "./logging";
import { NotificationLevel } from "./settings";

const SHOW_LOGS = "Show Logs";
const OPEN_SETTINGS = "Open Settings";

export async function notifyError(
  level: NotificationLevel,
  message: string,
  options: { offerSettings?: boolean } = {},
): Promise<void> {
  if (level === "off") {
    return;
  }
  const buttons = options.offerSettings ? [SHOW_LOGS, OPEN_SETTINGS] : [SHOW_LOGS];
  const choice = await vscode.window.showErrorMessage(`torchmode: ${message}`, ...buttons);
  if (choice === SHOW_LOGS) {
    showLogs();
  } else if (choice === OPEN_SETTINGS) {
    await vscode.commands.executeCommand("workbench.action.openSettings", `${SECTION}.interpreter`);
  }
}

export async function notifyWarning(level: NotificationLevel, message: string): Promise<void> {
  if (level !== "onWarning" && level !== "always") {
    return;
  }
  if ((await vscode.window.showWarningMessage(`torchmode: ${message}`, SHOW_LOGS)) === SHOW_LOGS) {
    showLogs();
  }
}
