// Lines of at most 120 columns in the sources (the formatter keeps code to that width, but not the strings,
// comments and template literals it must not reflow). Lists every longer line and exits 1 if there is one.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const MAX = 120;
const files = execFileSync(
  'git',
  ['ls-files', '-co', '--exclude-standard', '*.ts', '*.mts', '*.mjs', '*.js', '*.css'],
  {
    encoding: 'utf8',
  },
)
  .split('\n')
  .filter((f) => f && !f.includes('/dist/'));
let long = 0;
for (const file of files) {
  let text;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    continue; // listed but deleted in the work tree
  }
  text.split('\n').forEach((line, i) => {
    if ([...line].length > MAX) {
      long++;
      console.log(`${file}:${i + 1}: ${[...line].length} columns`);
    }
  });
}
if (long > 0) {
  console.log(`${long} line(s) over ${MAX} columns`);
  process.exit(1);
}
