// Drives VS Code (code-server) in headless Debian chromium through playwright-core, the
// way a person would: see the file's Problems entry before opening it (workspace
// diagnostics), open the file, see the squiggle and the Problems entry, hover,
// press Ctrl+. and pick the quick fix, save. Prints one JSON object with what it saw;
// the pytest test (test_vscode.py) makes the assertions. Exit code 1 only when the
// driver itself broke (the JSON then has "error").
//
//   node driver.mjs CONFIG.json
//
// CONFIG: {url, file, fileName, screenshot, playwrightModules, chromium, timeoutMs}
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const require = createRequire(path.join(config.playwrightModules, "noop.js"));
const { chromium } = require("playwright-core");

const timeout = config.timeoutMs ?? 90_000;
const result = { steps: [], externalRequests: [], consoleErrors: [] };
const started = Date.now();
const step = (name) => result.steps.push({ name, atMs: Date.now() - started });
// Monaco renders spaces as U+00A0.
const plain = (text) => (text ?? "").replace(/\u00a0/g, " ");

const profile = mkdtempSync(path.join(tmpdir(), "torchmode-chromium-"));
let context;
try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: config.chromium,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(timeout);
  page.on("request", (request) => {
    const url = new URL(request.url());
    if (!["127.0.0.1", "localhost", ""].includes(url.hostname) && !url.protocol.startsWith("data")
        && !url.protocol.startsWith("blob")) {
      result.externalRequests.push(request.url());
    }
  });
  page.on("console", (message) => {
    if (message.type() === "error") result.consoleErrors.push(message.text().slice(0, 300));
  });

  await page.goto(config.url);
  await page.waitForSelector(".monaco-workbench");
  step("workbench");

  // Workspace diagnostics: the Problems panel lists the finding before the file was ever opened.
  await page.keyboard.press("Control+Shift+M");
  const unopened = page.locator(".markers-panel .monaco-list-row", { hasText: "TM101" }).first();
  await unopened.waitFor({ timeout: config.squiggleTimeoutMs ?? 240_000 });
  result.problemBeforeOpen = plain(await unopened.innerText());
  result.editorsBeforeOpen = await page.locator(".monaco-editor .view-lines").count();
  step("problems entry of the unopened file");
  // Hide the panel again: it would cover the lines of the finding in the editor (Monaco only
  // renders the lines in view). Ctrl+Shift+M toggles it; Ctrl+J or its close button otherwise.
  const markersPanel = page.locator(".markers-panel").first();
  for (const hide of [
    () => page.keyboard.press("Control+Shift+M"),
    () => page.keyboard.press("Control+J"),
    () => page.locator('.part.panel [aria-label^="Hide Panel"], .part.panel [aria-label^="Close Panel"]').first().click(),
  ]) {
    await hide();
    try {
      await markersPanel.waitFor({ state: "hidden", timeout: 5_000 });
      break;
    } catch {
      // try the next way
    }
  }
  result.panelHiddenAgain = !(await markersPanel.isVisible());

  await page.locator(".explorer-folders-view .monaco-list-row", { hasText: config.fileName }).first().click();
  await page.waitForSelector(".monaco-editor .view-lines");
  step("editor open");

  // The first start installs the bundled server into a private environment: allow for it.
  const squiggle = page.locator(".monaco-editor .squiggly-warning").first();
  await squiggle.waitFor({ state: "attached", timeout: config.squiggleTimeoutMs ?? 240_000 });
  result.squiggle = true;
  step("squiggle");

  // The panel is open already (Ctrl+Shift+M toggles it): open it only if it is not.
  if (!(await page.locator(".markers-panel").first().isVisible())) {
    await page.keyboard.press("Control+Shift+M");
  }
  const problem = page.locator(".markers-panel .monaco-list-row", { hasText: "TM101" }).first();
  await problem.waitFor();
  result.problemText = plain(await problem.innerText());
  step("problems entry");
  // Clicking the entry reveals its line: the panel may have covered it.
  await problem.click();
  await squiggle.waitFor({ state: "visible" });

  await squiggle.hover({ force: true });
  const hover = page.locator(".monaco-hover", { hasText: "train | eval" }).first();
  await hover.waitFor({ state: "visible" });
  result.hoverText = plain(await hover.innerText());
  step("hover");
  await page.screenshot({ path: config.screenshot });
  step("screenshot");
  await page.keyboard.press("Escape");

  // Put the cursor in the squiggle and ask for the quick fixes, as a person does.
  const box = await squiggle.boundingBox();
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.keyboard.press("Control+Period");
  const rows = page.locator(".action-widget .monaco-list-row");
  await rows.first().waitFor();
  result.quickFixTitles = (await rows.allInnerTexts()).map(plain);
  await page.locator(".action-widget .monaco-list-row", { hasText: "into the loop" }).first().click();
  step("quick fix applied");

  await page.locator(".monaco-editor .squiggly-warning").first().waitFor({ state: "detached" });
  result.squiggleGone = true;
  step("squiggle gone");
  result.editorText = plain(await page.locator(".monaco-editor .view-lines").first().innerText());

  await page.keyboard.press("Control+S");
  // Wait until the file on disk is the edited text.
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline) {
    const text = readFileSync(config.file, "utf8");
    if (text !== config.originalText) {
      result.savedText = text;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  step("saved");
  result.elapsedMs = Date.now() - started;
} catch (error) {
  result.error = String(error?.stack ?? error);
  try {
    const page = context?.pages()[0];
    if (page) await page.screenshot({ path: config.screenshot.replace(/\.png$/, "-failure.png") });
  } catch {
    // no screenshot of a failure
  }
} finally {
  await context?.close().catch(() => undefined);
  rmSync(profile, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(result) + "\n");
process.exit(result.error ? 1 : 0);
