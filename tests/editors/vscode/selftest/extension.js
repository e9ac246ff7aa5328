// Drives the installed torchmode extension through the VS Code API from inside the
// extension host and writes what it saw to $TORCHMODE_SELFTEST_OUT as JSON: the parts of
// the client a DOM test cannot see well (settings sent live, fix-all, a bad interpreter
// and a server that dies at start, neither of which may cause a restart loop, the restart
// command).
const fs = require("fs");
const vscode = require("vscode");

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what, predicate, timeoutMs = 60000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (predicate()) return;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
}

async function run(out) {
  const result = { steps: [] };
  const started = Date.now();
  const step = (name) => result.steps.push({ name, atMs: Date.now() - started });
  try {
    const [uri] = await vscode.workspace.findFiles("train.py");
    const findings = () => vscode.languages.getDiagnostics(uri).filter((d) => d.source === "torchmode");
    const config = () => vscode.workspace.getConfiguration("torchmode");
    const code = (d) => (typeof d.code === "object" ? d.code.value : d.code);

    // Workspace diagnostics: train.py's finding, before anything opened it.
    await waitFor("the diagnostics of the unopened train.py", () => findings().length > 0, 240000);
    result.unopened = {
      codes: findings().map(code),
      open: vscode.workspace.textDocuments.some((d) => d.uri.toString() === uri.toString()),
    };
    step("unopened file's diagnostics");
    result.checkWorkspace = await vscode.commands.executeCommand("torchmode.checkWorkspace");
    step("check workspace command");

    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(document);
    const original = document.getText();

    await waitFor("the TM101 diagnostic", () => findings().length > 0, 240000);
    const diagnostic = findings()[0];
    result.diagnostic = {
      code: typeof diagnostic.code === "object" ? diagnostic.code.value : diagnostic.code,
      message: diagnostic.message,
      severity: diagnostic.severity,
      line: diagnostic.range.start.line,
      character: diagnostic.range.start.character,
    };
    step("diagnostic");

    const hovers = await vscode.commands.executeCommand("vscode.executeHoverProvider", uri, diagnostic.range.start);
    result.hover = hovers
      .flatMap((hover) => hover.contents.map((part) => (typeof part === "string" ? part : part.value)))
      .join("\n");
    step("hover");

    const actions = await vscode.commands.executeCommand("vscode.executeCodeActionProvider", uri, diagnostic.range, "quickfix");
    result.quickFixes = actions.map((action) => action.title);
    step("quick fixes");

    // A setting the running server takes without a restart.
    await config().update("ignore", ["TM101"], vscode.ConfigurationTarget.Global);
    await waitFor("TM101 gone once ignored", () => findings().length === 0, 30000);
    await config().update("ignore", undefined, vscode.ConfigurationTarget.Global);
    await waitFor("TM101 back once not ignored", () => findings().length > 0, 30000);
    step("ignore setting applied live");

    await vscode.commands.executeCommand("torchmode.fixAll");
    await waitFor("the fix-all edit", () => document.getText() !== original, 30000);
    result.textAfterFixAll = document.getText();
    await waitFor("no finding after fix-all", () => findings().length === 0, 30000);
    await vscode.commands.executeCommand("undo");
    await waitFor("the undone text", () => document.getText() === original, 10000);
    await waitFor("TM101 back after undo", () => findings().length > 0, 30000);
    step("fix all");

    // A broken interpreter: the server stops (its diagnostics go) and is not restarted in a loop.
    const interpreter = config().inspect("interpreter").globalValue; // undefined: not set
    await config().update("interpreter", "/nonexistent/bin/python3", vscode.ConfigurationTarget.Global);
    await waitFor("the server stopped for a bad interpreter", () => findings().length === 0, 30000);
    await sleep(3000);
    result.findingsWithBadInterpreter = findings().length;
    await config().update("interpreter", interpreter, vscode.ConfigurationTarget.Global);
    await waitFor("TM101 back with the good interpreter", () => findings().length > 0, 120000);
    step("bad interpreter, then good again");

    // A torchmode in the environment that exits at start (the test put a broken one in the
    // workspace folder, which `python -m` imports from): one report, no restart loop.
    await config().update("importStrategy", "fromEnvironment", vscode.ConfigurationTarget.Global);
    await waitFor("the server gone for a broken torchmode", () => findings().length === 0, 60000);
    await sleep(3000);
    result.findingsWithBrokenServer = findings().length;
    await config().update("importStrategy", undefined, vscode.ConfigurationTarget.Global);
    await waitFor("TM101 back with the bundled server", () => findings().length > 0, 120000);
    step("broken server, then the bundled one again");

    await vscode.commands.executeCommand("torchmode.restart");
    await waitFor("TM101 after the restart command", () => findings().length > 0, 60000);
    step("restart command");
    result.ok = true;
  } catch (error) {
    result.error = String((error && error.stack) || error);
  }
  fs.writeFileSync(out, JSON.stringify(result, undefined, 2));
}

// The notebook case: train.ipynb, whose training cell follows the evaluation cell. The
// TM101 diagnostic must be on the training cell; the quick fix that moves model.train()
// into the loop edits two cells; the notebook is then saved (the test reads the file).
async function runNotebook(out) {
  const result = { steps: [] };
  const started = Date.now();
  const step = (name) => result.steps.push({ name, atMs: Date.now() - started });
  try {
    const [uri] = await vscode.workspace.findFiles("train.ipynb");
    const notebook = await vscode.workspace.openNotebookDocument(uri);
    const editor = await vscode.window.showNotebookDocument(notebook);
    step("opened");
    const findingsIn = (cell) =>
      vscode.languages.getDiagnostics(cell.document.uri).filter((d) => d.source === "torchmode");
    const withFindings = () => notebook.getCells().filter((cell) => findingsIn(cell).length > 0);
    await waitFor("a torchmode diagnostic in a cell", () => withFindings().length > 0, 240000);
    await sleep(1000); // let the other cells' publishes land
    result.diagnostics = notebook.getCells().flatMap((cell) =>
      findingsIn(cell).map((d) => ({
        cell: cell.index,
        code: typeof d.code === "object" ? d.code.value : d.code,
        line: d.range.start.line,
        character: d.range.start.character,
      })),
    );
    step("diagnostics");
    const trainCell = notebook.getCells().find((cell) =>
      findingsIn(cell).some((d) => (typeof d.code === "object" ? d.code.value : d.code) === "TM101"),
    );
    const diagnostic = findingsIn(trainCell).find((d) => (typeof d.code === "object" ? d.code.value : d.code) === "TM101");
    // The code action command needs the cell's text model in the workbench, which exists
    // once the cell's editor is rendered: reveal the cell and retry until it is there.
    const cellRange = new vscode.NotebookRange(trainCell.index, trainCell.index + 1);
    editor.revealRange(cellRange, vscode.NotebookEditorRevealType.InCenter);
    editor.selections = [cellRange];
    let actions;
    for (let attempt = 0; actions === undefined; attempt++) {
      try {
        actions = await vscode.commands.executeCommand(
          "vscode.executeCodeActionProvider",
          trainCell.document.uri,
          diagnostic.range,
          "quickfix",
        );
      } catch (error) {
        if (attempt >= 50) throw error;
        await sleep(200);
      }
    }
    result.quickFixes = actions.map((action) => action.title);
    const move = actions.find((action) => action.title.includes("into the loop"));
    result.editedCells = move.edit.entries().map(([cellUri]) =>
      notebook.getCells().findIndex((cell) => cell.document.uri.toString() === cellUri.toString()),
    );
    step("quick fixes");
    if (!(await vscode.workspace.applyEdit(move.edit))) throw new Error("the quick fix was not applied");
    await waitFor("no TM101 after the fix", () => !withFindings().some((cell) => cell === trainCell), 30000);
    step("fix applied");
    await notebook.save();
    await waitFor("the notebook saved", () => !notebook.isDirty, 30000);
    step("saved");
    result.ok = true;
  } catch (error) {
    result.error = String((error && error.stack) || error);
  }
  fs.writeFileSync(out, JSON.stringify(result, undefined, 2));
}

// The untrusted-workspace case: workspace trust is on and this workspace is not trusted.
// The workspace's own settings point torchmode.interpreter and importStrategy at things
// that must never run; torchmode must still check train.py with the default Python.
async function runUntrusted(out) {
  const result = { steps: [] };
  const started = Date.now();
  const step = (name) => result.steps.push({ name, atMs: Date.now() - started });
  try {
    result.isTrusted = vscode.workspace.isTrusted;
    const config = vscode.workspace.getConfiguration("torchmode");
    const inspected = (key) => {
      const value = config.inspect(key);
      return { workspaceValue: value.workspaceValue, effective: config.get(key) };
    };
    result.interpreter = inspected("interpreter");
    result.importStrategy = inspected("importStrategy");
    // Not restricted: the workspace's value applies even here (so its settings file is read).
    result.severity = inspected("severity");
    const extension = vscode.extensions.getExtension("torchmode.torchmode");
    result.extensionActive = extension ? extension.isActive : null;
    const [uri] = await vscode.workspace.findFiles("train.py");
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(document);
    step("opened");
    const findings = () => vscode.languages.getDiagnostics(uri).filter((d) => d.source === "torchmode");
    await waitFor("the TM101 diagnostic", () => findings().length > 0, 240000);
    result.extensionActive = extension ? extension.isActive : null;
    result.diagnostics = findings().map((d) => ({
      code: typeof d.code === "object" ? d.code.value : d.code,
      line: d.range.start.line,
      character: d.range.start.character,
      severity: d.severity,
    }));
    step("diagnostics");
    // Time for anything that would still run the workspace's interpreter to do it.
    await sleep(3000);
    result.isTrustedAtEnd = vscode.workspace.isTrusted;
    result.ok = true;
  } catch (error) {
    result.error = String((error && error.stack) || error);
  }
  fs.writeFileSync(out, JSON.stringify(result, undefined, 2));
}

function activate() {
  const out = process.env.TORCHMODE_SELFTEST_OUT;
  if (out && process.env.TORCHMODE_SELFTEST_CASE === "notebook") {
    void runNotebook(out);
  } else if (out && process.env.TORCHMODE_SELFTEST_CASE === "untrusted") {
    void runUntrusted(out);
  } else if (out) {
    void run(out);
  }
}

module.exports = { activate };
