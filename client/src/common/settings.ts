/**
 * The `torchmode.*` settings: reading them for a resource, expanding variables in the
 * interpreter path, and the part of them the language server understands.
 *
 * The server (server/torchmode/lsp/config.py) reads `locale`, `select`, `ignore`,
 * `severity`, `configurationPreference`, `inlayHints`, `showNotifications`, `diagnosticMode`
 * and `exclude` from `initializationOptions.settings`
 * and from `workspace/didChangeConfiguration` / `workspace/configuration` under the
 * `torchmode` section. VS Code's own shape of that section (`inlayHints.enable`,
 * `interpreter`, `trace`...) is not what the server expects, so the client always sends
 * the translated object from `serverSettings`.
 */
import * as os from "os";
import * as path from "path";
import * as vscode from "vscode";
import { SECTION } from "./constants";

export type ImportStrategy = "useBundled" | "fromEnvironment";
export type NotificationLevel = "off" | "onError" | "onWarning" | "always";
export type DiagnosticMode = "workspace" | "openFilesOnly";

export interface Settings {
  enable: boolean;
  /** The expanded interpreter path; "" when not set. */
  interpreter: string;
  importStrategy: ImportStrategy;
  select: string[] | undefined;
  ignore: string[] | undefined;
  severity: Record<string, string>;
  configurationPreference: string;
  inlayHints: boolean;
  /** "auto" follows VS Code's display language. */
  locale: string;
  showNotifications: NotificationLevel;
  /** Per-document wait after the last change (an initialization option of the server). */
  debounceMs: number;
  diagnosticMode: DiagnosticMode;
  exclude: string[];
}

/** What the server reads: see server/torchmode/lsp/config.py. */
export interface ServerSettings {
  locale: string | null;
  select: string[] | null;
  ignore: string[] | null;
  severity: Record<string, string>;
  configurationPreference: string;
  inlayHints: boolean;
  showNotifications: NotificationLevel;
  diagnosticMode: DiagnosticMode;
  exclude: string[];
}

const NOTIFICATION_LEVELS: readonly NotificationLevel[] = ["off", "onError", "onWarning", "always"];

/** The workspace folder a window-wide server takes its settings and interpreter from. */
export function primaryFolder(): vscode.WorkspaceFolder | undefined {
  const active = vscode.window.activeTextEditor?.document.uri;
  const folder = active ? vscode.workspace.getWorkspaceFolder(active) : undefined;
  return folder ?? vscode.workspace.workspaceFolders?.[0];
}

export function getSettings(folder: vscode.WorkspaceFolder | undefined = primaryFolder()): Settings {
  const config = vscode.workspace.getConfiguration(SECTION, folder?.uri);
  const importStrategy = config.get<string>("importStrategy") === "fromEnvironment" ? "fromEnvironment" : "useBundled";
  const showNotifications = config.get<string>("showNotifications") as NotificationLevel;
  return {
    enable: config.get<boolean>("enable", true),
    interpreter: resolveVariables(config.get<string>("interpreter", "") ?? "", folder),
    importStrategy,
    select: stringList(userValue(config, "select")),
    ignore: stringList(userValue(config, "ignore")),
    severity: stringRecord(config.get("severity")),
    configurationPreference: config.get<string>("configurationPreference", "editorFirst"),
    inlayHints: config.get<boolean>("inlayHints.enable", false) === true,
    locale: config.get<string>("locale", "auto") || "auto",
    showNotifications: NOTIFICATION_LEVELS.includes(showNotifications) ? showNotifications : "onWarning",
    debounceMs: debounceMs(config.get<number>("debounceMs")),
    diagnosticMode: config.get<string>("diagnosticMode") === "openFilesOnly" ? "openFilesOnly" : "workspace",
    exclude: stringList(config.get("exclude")) ?? [],
  };
}

export function serverSettings(settings: Settings): ServerSettings {
  return {
    locale: settings.locale === "auto" ? null : settings.locale,
    select: settings.select ?? null,
    ignore: settings.ignore ?? null,
    severity: settings.severity,
    configurationPreference: settings.configurationPreference,
    inlayHints: settings.inlayHints,
    showNotifications: settings.showNotifications,
    diagnosticMode: settings.diagnosticMode,
    exclude: settings.exclude,
  };
}

/** `${workspaceFolder}`, `${workspaceFolder:name}`, `${userHome}`, `${env:NAME}` and a leading `~`;
 * a relative path is taken from the workspace folder. */
export function resolveVariables(value: string, folder: vscode.WorkspaceFolder | undefined): string {
  let result = value.trim();
  if (result === "") {
    return "";
  }
  const home = os.homedir();
  result = result.replace(/\$\{workspaceFolder(?::([^}]+))?\}/g, (match, name: string | undefined) => {
    const target = name ? vscode.workspace.workspaceFolders?.find((candidate) => candidate.name === name) : folder;
    return target ? target.uri.fsPath : match;
  });
  result = result.replace(/\$\{userHome\}/g, home);
  result = result.replace(/\$\{env:([^}]+)\}/g, (_match, name: string) => process.env[name] ?? "");
  if (result === "~" || result.startsWith("~/") || result.startsWith("~\\")) {
    result = path.join(home, result.slice(1));
  }
  if (!path.isAbsolute(result) && /[\\/]/.test(result) && folder) {
    result = path.join(folder.uri.fsPath, result);
  }
  return result;
}

/** One line for the log: what the client is about to run with. */
export function describeSettings(settings: Settings): string {
  return JSON.stringify({
    interpreter: settings.interpreter || "(not set)",
    importStrategy: settings.importStrategy,
    debounceMs: settings.debounceMs,
    ...serverSettings(settings),
  });
}

/** A setting's value when some scope sets it; undefined when only the default applies
 * (VS Code's default of a list setting is [], which would read as "select nothing"). */
function userValue(config: vscode.WorkspaceConfiguration, key: string): unknown {
  const inspected = config.inspect(key);
  if (inspected === undefined) {
    return undefined;
  }
  return (
    inspected.workspaceFolderLanguageValue ??
    inspected.workspaceLanguageValue ??
    inspected.globalLanguageValue ??
    inspected.workspaceFolderValue ??
    inspected.workspaceValue ??
    inspected.globalValue
  );
}

function stringList(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) {
    return undefined;
  }
  return value.filter((item): item is string => typeof item === "string");
}

function stringRecord(value: unknown): Record<string, string> {
  const result: Record<string, string> = {};
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, item] of Object.entries(value)) {
      if (typeof item === "string") {
        result[key] = item;
      }
    }
  }
  return result;
}

/** A valid wait in milliseconds, else the default (the server would warn and use its own). */
export function debounceMs(value: unknown): number {
  return typeof value === "number" && Number.isFinite(value) && value >= 0 && value <= 60000 ? value : 300;
}
