/**
 * One log for everything: the client's own messages, the server's `window/logMessage`,
 * its stderr, and the LSP trace (`torchmode.trace.server`) all go to the "torchmode"
 * output channel. Its level follows "Developer: Set Log Level...".
 */
import * as vscode from "vscode";
import { DISPLAY_NAME } from "./constants";

let channel: vscode.LogOutputChannel | undefined;

export function createLog(): vscode.LogOutputChannel {
  channel = vscode.window.createOutputChannel(DISPLAY_NAME, { log: true });
  return channel;
}

export function log(): vscode.LogOutputChannel {
  if (channel === undefined) {
    throw new Error("the torchmode log is used before activation created it");
  }
  return channel;
}

export function traceInfo(message: string): void {
  channel?.info(message);
}

export function traceWarn(message: string): void {
  channel?.warn(message);
}

export function traceError(message: string, error?: unknown): void {
  channel?.error(error === undefined ? message : `${message}: ${describeError(error)}`);
}

export function traceVerbose(message: string): void {
  channel?.debug(message);
}

export function showLogs(): void {
  channel?.show(true);
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    return error.message || error.name;
  }
  return String(error);
}
