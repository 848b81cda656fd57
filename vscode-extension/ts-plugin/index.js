// TypeScript server plugin (contributes.typescriptServerPlugins): adds the
// declarations of "@synthetic/config" to every project that holds a
// synthetic.config.ts, so that VS Code's TypeScript server resolves
// `import { defineSyntheticConfig } from "@synthetic/config"` and checks the
// config against the same schema as Synthetic's own checker.
//
// A configured project (tsconfig.json) takes extra root files from
// getExternalFiles; an inferred project (a loose file, the usual case for a
// config at a repository root) does not, so the plugin also adds the file to
// the names the language service builds its program from.
"use strict";
const path = require("path");

const DECLARATIONS = path.join(__dirname, "synthetic-config.d.ts");
const CONFIG = /(^|[\\/])synthetic\.config\.ts$/;

function withDeclarations(names) {
  if (!names.some((f) => CONFIG.test(f))) return names;
  if (names.some((f) => path.resolve(f) === DECLARATIONS)) return names;
  return [...names, DECLARATIONS];
}

function init() {
  return {
    create(info) {
      const host = info.languageServiceHost;
      const original = host.getScriptFileNames.bind(host);
      host.getScriptFileNames = () => withDeclarations(original());
      info.project.projectService.logger.info(`synthetic-ts-plugin: declarations ${DECLARATIONS}`);
      return info.languageService;
    },
    getExternalFiles(project) {
      try {
        const names = project.getRootFiles ? project.getRootFiles() : [];
        return names.some((f) => CONFIG.test(f)) ? [DECLARATIONS] : [];
      } catch {
        return [];
      }
    },
  };
}

module.exports = init;
