import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "out-test/**", "node_modules/**", "ts-plugin/**", "*.mjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["src/**/*.ts", "test/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "no-restricted-imports": ["error", { paths: [{ name: "vscode", message: "pure modules must not import vscode" }] }],
    },
  },
  {
    files: ["src/**/*.ts"],
    ignores: ["src/format.ts", "src/version.ts", "src/model.ts"],
    rules: { "no-restricted-imports": "off" },
  },
);
