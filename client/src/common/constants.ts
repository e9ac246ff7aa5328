/** Names shared by the client's modules; the manifest (package.json) uses the same ones. */

/** The settings section, the command prefix, the language client id and the log's name. */
export const SECTION = "torchmode";
export const DISPLAY_NAME = "torchmode";

/** The oldest Python the server runs on (pyproject.toml: requires-python >= 3.10). */
export const MIN_PYTHON: readonly [number, number] = [3, 10];

/** The code action kind of the server's "fix all" (server/torchmode/lsp/actions.py). */
export const FIX_ALL_KIND = "source.fixAll.torchmode";

/** The Python extension, whose selected interpreter is used when present (no hard dependency). */
export const PYTHON_EXTENSION_ID = "ms-python.python";

/**
 * The server the .vsix carries: the launcher, run as `python -I <launcher> lsp`, puts
 * bundled/libs (torchmode and its pinned pure-Python dependencies, filled at build time by
 * client/scripts/bundle-python.mjs) first on sys.path. Relative to the extension's folder.
 */
export const BUNDLED_LAUNCHER = "bundled/tool/launch.py";

/** Settings whose change needs a new server process; the rest are sent to the running one. */
export const RESTART_SETTINGS = ["enable", "interpreter", "importStrategy", "debounceMs"].map((key) => `${SECTION}.${key}`);

export const COMMANDS = {
  restart: `${SECTION}.restart`,
  showLogs: `${SECTION}.showLogs`,
  fixAll: `${SECTION}.fixAll`,
  checkWorkspace: `${SECTION}.checkWorkspace`,
} as const;

/**
 * What "torchmode: Check Workspace" asks the server to run (workspace/executeCommand;
 * server/torchmode/lsp/server.py). Not the client's command id: vscode-languageclient
 * registers a VS Code command for every command the server declares.
 */
export const SERVER_CHECK_WORKSPACE = `${SECTION}.server.checkWorkspace`;
