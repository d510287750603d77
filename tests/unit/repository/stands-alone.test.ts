/**
 * The repository stands alone: no tracked file (README, comment, test, link) points to a document
 * outside it. A reference to `../shared/…` is fine only when it names a tracked file or folder of
 * this repository's own `shared/` folder (as every import of the code does).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../shared/config/load.ts';

// Built from parts so that this file does not contain what it looks for.
const OUTSIDE = [['DESIGN', 'md'].join('.'), ['shared', 'systems'].join('/'), ['shared', 'hooks'].join('/')];
/** A parent-relative path to a folder named shared (any depth), with the path that follows it. */
const PARENT_SHARED = /(?:\.\.\/)+shared\b([\w./@-]*)/g;
/** The outside design document cited by its rules ("… rule 5"), which a user cannot read. */
const DESIGN_RULE = new RegExp(`\\b${['DES', 'IGN'].join('')}\\s+rules?\\b`, 'g');

function trackedFiles(): string[] {
  return execFileSync('git', ['ls-files', '-z'], { cwd: PROJECT_ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((file) => file !== '' && !/\.(png|jpe?g|gif|ico|woff2?)$/.test(file));
}

/** Every reference to something outside the repository, as `file:line: text`. */
function outsideReferences(
  files: readonly string[],
  read: (file: string) => string,
  tracked: ReadonlySet<string>,
): string[] {
  const found: string[] = [];
  for (const file of files) {
    const lines = read(file).split('\n');
    lines.forEach((line, i) => {
      const where = `${file}:${i + 1}`;
      for (const needle of OUTSIDE) {
        if (line.includes(needle)) found.push(`${where}: ${needle}`);
      }
      for (const match of line.matchAll(DESIGN_RULE)) found.push(`${where}: ${match[0]}`);
      for (const match of line.matchAll(PARENT_SHARED)) {
        const rest = (match[1] ?? '').replace(/[.]+$/, '');
        const named = `shared${rest}`;
        const inside =
          tracked.has(named) || (named.endsWith('/') && [...tracked].some((file) => file.startsWith(named)));
        if (!inside) found.push(`${where}: ${match[0]}`);
      }
    });
  }
  return found;
}

describe('the repository', () => {
  it('has no tracked file that points outside it', () => {
    // Prepare
    const files = trackedFiles();
    const tracked = new Set(files);

    // Act
    const found = outsideReferences(
      files,
      (file) => readFileSync(path.join(PROJECT_ROOT, file), 'utf8'),
      tracked,
    );

    // Assess
    expect(found).toEqual([]);
    expect(files.length).toBeGreaterThan(100);
  });

  it('finds each kind of outside reference, and accepts imports of its own shared/ folder', () => {
    // Prepare
    const docs = (parts: string[]) => parts.join('');
    const text: Record<string, string> = {
      'README.md': `see ${docs(['DES', 'IGN.md'])} and [the hooks](${docs(['../sha', 'red/hooks/x.sh'])})\n`,
      'targets/a.ts': `// Source: ${docs(['../sha', 'red/sys', 'tems/a.md'])}\nimport x from '../shared/config/schema.ts';\nconst prefix = "'../shared/";\n`,
      'cli/b.ts': `// the design lives in ${docs(['../sha', 'red/notes.md'])} beside the repository\n`,
      'shared/c.ts': `// the adapter follows the target (${docs(['DES', 'IGN'])} rule 5)\n`,
    };
    const tracked = new Set(['shared/config/schema.ts']);

    // Act
    const found = outsideReferences(Object.keys(text), (file) => text[file] ?? '', tracked);

    // Assess
    expect(found).toEqual([
      `README.md:1: ${docs(['DES', 'IGN.md'])}`,
      `README.md:1: ${docs(['shared', '/hooks'])}`,
      `README.md:1: ${docs(['../sha', 'red/hooks/x.sh'])}`,
      `targets/a.ts:1: ${docs(['shared', '/systems'])}`,
      `targets/a.ts:1: ${docs(['../sha', 'red/sys', 'tems/a.md'])}`,
      `cli/b.ts:1: ${docs(['../sha', 'red/notes.md'])}`,
      `shared/c.ts:1: ${docs(['DES', 'IGN'])} rule`,
    ]);
  });
});
