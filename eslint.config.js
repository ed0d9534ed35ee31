import js from "@eslint/js";
import drizzle from "eslint-plugin-drizzle";
import reactHooks from "eslint-plugin-react-hooks";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["build/**", "public/build/**", "node_modules/**", "sdk/dist/**", ".data/**", "tests/.artifacts/**", "db/migrations/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.{ts,tsx,js}"],
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    plugins: { drizzle, "react-hooks": reactHooks },
    rules: {
      // An UPDATE or DELETE without WHERE touches every row: never what a service means.
      "drizzle/enforce-update-with-where": ["error", { drizzleObjectName: ["db", "tx"] }],
      "drizzle/enforce-delete-with-where": ["error", { drizzleObjectName: ["db", "tx"] }],
      "react-hooks/rules-of-hooks": "error",
      "react-hooks/exhaustive-deps": "warn",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "no-console": "off",
    },
  },
  {
    files: ["tests/**/*.ts", "sdk/test/**/*.ts"],
    rules: {
      // Tests that pass without testing: [].every(…) is true; an interrupted fuzz run counts as passed.
      "no-restricted-syntax": [
        "error",
        {
          selector: "CallExpression[callee.name='expect'] > CallExpression.arguments[callee.property.name='every']",
          message: "expect(list.every(…)) passes on an empty list: use expectEvery (tests/support/expect.ts, sdk/test/support.ts), which asserts the list is not empty first.",
        },
        {
          // fast-check stops at the time limit and, unless told otherwise, reports the cases it ran as a pass.
          selector: "ObjectExpression:has(> Property[key.name='interruptAfterTimeLimit']):not(:has(> Property[key.name='markInterruptAsFailure'][value.value=true]))",
          message: "interruptAfterTimeLimit without markInterruptAsFailure: true lets a fuzz run cut short pass. Add it, or drop the time limit and run a fixed numRuns.",
        },
      ],
    },
  },
);
