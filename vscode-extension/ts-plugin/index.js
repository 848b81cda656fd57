// TypeScript server plugin (contributes.typescriptServerPlugins): adds the
// declarations of "@synthetic/config" to every project that holds a
// synthetic.config.ts, so that VS Code's TypeScript server resolves
// `import { defineSyntheticConfig } from "@synthetic/config"` and checks the
// config against the same schema as Synthetic's own checker.
"use strict";
const path = require("path");

const DECLARATIONS = path.join(__dirname, "synthetic-config.d.ts");

function init() {
  return {
    create(info) {
      info.project.projectService.logger.info(`synthetic-ts-plugin: ${DECLARATIONS}`);
      return info.languageService;
    },
    getExternalFiles(project) {
      try {
        const names = project.getRootFiles ? project.getRootFiles() : project.getFileNames();
        const hasConfig = names.some((f) => /(^|[\\/])synthetic\.config\.ts$/.test(f));
        return hasConfig ? [DECLARATIONS] : [];
      } catch {
        return [DECLARATIONS];
      }
    },
  };
}

module.exports = init;
