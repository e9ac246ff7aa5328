// Bundles the client into one CommonJS file, dist/extension.js, that VS Code loads.
// `vscode` is provided by the editor at run time; everything else (vscode-languageclient)
// is inlined, so the .vsix carries no node_modules.
//
//   node client/scripts/esbuild.mjs [--production] [--watch]
import * as esbuild from "esbuild";

const production = process.argv.includes("--production");
const watch = process.argv.includes("--watch");

const options = {
  entryPoints: ["client/src/extension.ts"],
  outfile: "dist/extension.js",
  bundle: true,
  format: "cjs",
  platform: "node",
  // VS Code 1.91 (the engines minimum) runs extensions on Electron 29's Node 20.
  target: "node20",
  external: ["vscode"],
  minify: production,
  sourcemap: production ? false : "linked",
  sourcesContent: false,
  logLevel: "info",
};

if (watch) {
  const context = await esbuild.context(options);
  await context.watch();
} else {
  await esbuild.build(options);
}
