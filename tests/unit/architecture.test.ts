/**
 * The layers, read from the imports: every relative import of the project's code (`shared/`,
 * `functions/`, `workflows/`, `stacks/`, `cli/`, `sst.config.ts`) is parsed, and the graph is checked
 * against the rules the layout promises:
 *
 * - no module in `shared/drivers/` imports a domain module (`shared/backup/`, `shared/recovery/`,
 *   `shared/health/`, `shared/deploy/`): the errors an adapter raises live with the ports
 *   (`shared/drivers/errors.ts`) or in `shared/errors.ts`;
 * - `shared/health/` does not import `shared/deploy/`;
 * - no import circle, type-only imports included.
 *
 * The rules are written out here, not derived from the code. The checker's own functions are tested
 * on small graphs first, so that a checker that finds nothing cannot pass for a clean project.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SOURCE_ROOTS = ['shared', 'functions', 'workflows', 'stacks', 'cli'];
const SOURCE_FILES = ['sst.config.ts'];
/**
 * The domains a driver may not import. (`shared/alerts/` is not in it yet: the Slack adapter still
 * imports its message format and its post from there.)
 */
const DOMAINS = ['backup', 'recovery', 'health', 'deploy'];

/**
 * Import circles that are known and owned by another change, each kept only until that change
 * lands. An entry is the exact set of modules of one circle; a circle that grows, or a new one,
 * fails. An entry whose circle is gone fails too: delete it then.
 */
const KNOWN_CYCLES: readonly (readonly string[])[] = [];

/** A module's relative imports, as repository paths. */
type ImportGraph = ReadonlyMap<string, readonly string[]>;

const STATIC_IMPORT = /^[ \t]*(?:import|export)\b[^;]*?\bfrom\s*(['"])(\.{1,2}\/[^'"]+)\1/gm;
const SIDE_EFFECT_IMPORT = /^[ \t]*import\s*(['"])(\.{1,2}\/[^'"]+)\1/gm;
const DYNAMIC_IMPORT = /\bimport\(\s*(['"])(\.{1,2}\/[^'"]+)\1\s*\)/g;

const COMMENT_LINE = /^\s*(?:\*|\/\/|\/\*)/;

/**
 * The relative specifiers a module's source imports: `import … from`, `export … from` (type-only
 * ones too), side-effect imports and `import('…')` with a literal. Comment lines (TSDoc examples
 * such as `* await import('./x.ts')`) are not statements and are not read.
 */
function relativeSpecifiers(source: string): string[] {
  const code = source
    .split('\n')
    .map((line) => (COMMENT_LINE.test(line) ? '' : line))
    .join('\n');
  const found: string[] = [];
  for (const pattern of [STATIC_IMPORT, SIDE_EFFECT_IMPORT, DYNAMIC_IMPORT]) {
    for (const match of code.matchAll(pattern)) found.push(match[2] as string);
  }
  return found;
}

/** Every `.ts` file under the source roots (declarations and node_modules aside), repository-relative. */
function sourceFiles(): string[] {
  const files: string[] = [...SOURCE_FILES];
  const walk = (dir: string) => {
    for (const name of readdirSync(path.join(ROOT, dir))) {
      const rel = `${dir}/${name}`;
      if (name === 'node_modules' || name.startsWith('.')) continue;
      if (statSync(path.join(ROOT, rel)).isDirectory()) walk(rel);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) files.push(rel);
    }
  };
  for (const root of SOURCE_ROOTS) walk(root);
  return files.sort();
}

/** The import graph of the project's code; `unresolved` lists imports that name no file. */
function projectGraph(): { graph: ImportGraph; unresolved: string[] } {
  const graph = new Map<string, string[]>();
  const unresolved: string[] = [];
  for (const file of sourceFiles()) {
    const source = readFileSync(path.join(ROOT, file), 'utf8');
    const targets = relativeSpecifiers(source).map((spec) => path.posix.join(path.posix.dirname(file), spec));
    for (const target of targets) {
      if (!existsSync(path.join(ROOT, target))) unresolved.push(`${file} → ${target}`);
    }
    graph.set(file, [...new Set(targets)]);
  }
  return { graph, unresolved };
}

/** The imports (`from → to`) where a module matching `from` imports one matching `to`. */
function forbiddenImports(graph: ImportGraph, from: RegExp, to: RegExp): string[] {
  const found: string[] = [];
  for (const [file, imports] of graph) {
    if (!from.test(file)) continue;
    for (const target of imports) if (to.test(target)) found.push(`${file} → ${target}`);
  }
  return found.sort();
}

/**
 * The import circles of a graph: its strongly connected components of more than one module (or a
 * module importing itself), each as its sorted modules (Tarjan's algorithm).
 */
function importCycles(graph: ImportGraph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  let next = 0;
  const visit = (node: string) => {
    index.set(node, next);
    low.set(node, next);
    next += 1;
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!graph.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node) as number, low.get(target) as number));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node) as number, index.get(target) as number));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const component: string[] = [];
    for (;;) {
      const member = stack.pop() as string;
      onStack.delete(member);
      component.push(member);
      if (member === node) break;
    }
    if (component.length > 1 || graph.get(node)?.includes(node)) cycles.push(component.sort());
  };
  for (const node of graph.keys()) if (!index.has(node)) visit(node);
  return cycles.sort((a, b) => (a[0] as string).localeCompare(b[0] as string));
}

const key = (cycle: readonly string[]) => [...cycle].sort().join(' ↔ ');

describe('the import checker', () => {
  it('reads static, type-only, re-export, side-effect and dynamic imports, and not TSDoc lines', () => {
    // Prepare
    const source = [
      "import { a } from './a.ts';",
      "import type { B } from '../b.ts';",
      'import {',
      '  c,',
      '  type D,',
      "} from './c.ts';",
      "export { e } from './e.ts';",
      "export type * from './f.ts';",
      "import './g.ts';",
      "const h = await import('./h.ts');",
      "import { z } from 'zod';",
      '/**',
      " * import { nope } from './doc-only.ts';",
      " * const later = await import('./doc-only-too.ts');",
      ' */',
      "// await import('./commented-out.ts');",
    ].join('\n');

    // Act
    const specifiers = relativeSpecifiers(source);

    // Assess
    expect(specifiers.sort()).toEqual([
      '../b.ts',
      './a.ts',
      './c.ts',
      './e.ts',
      './f.ts',
      './g.ts',
      './h.ts',
    ]);
  });

  it('finds a circle of three modules and a module importing itself, and no circle in a diamond', () => {
    // Prepare
    const graph: ImportGraph = new Map([
      ['a.ts', ['b.ts']],
      ['b.ts', ['c.ts']],
      ['c.ts', ['a.ts', 'd.ts']],
      ['d.ts', []],
      ['self.ts', ['self.ts']],
      ['top.ts', ['left.ts', 'right.ts']],
      ['left.ts', ['bottom.ts']],
      ['right.ts', ['bottom.ts']],
      ['bottom.ts', []],
    ]);

    // Act
    const cycles = importCycles(graph);

    // Assess
    expect(cycles).toEqual([['a.ts', 'b.ts', 'c.ts'], ['self.ts']]);
  });

  it('names each forbidden import by its two modules', () => {
    // Prepare
    const graph: ImportGraph = new Map([
      ['shared/drivers/aws/x.ts', ['shared/backup/errors.ts', 'shared/drivers/ports.ts']],
      ['shared/backup/y.ts', ['shared/drivers/ports.ts']],
    ]);

    // Act
    const found = forbiddenImports(graph, /^shared\/drivers\//, /^shared\/backup\//);

    // Assess
    expect(found).toEqual(['shared/drivers/aws/x.ts → shared/backup/errors.ts']);
  });
});

describe("the project's layers", () => {
  const { graph, unresolved } = projectGraph();
  const domains = new RegExp(`^shared/(${DOMAINS.join('|')})/`);

  it('reads the whole project: every relative import names a file', () => {
    // Assess
    expect(graph.size).toBeGreaterThan(200);
    expect(graph.get('shared/drivers/index.ts')).toContain('shared/drivers/ports.ts');
    expect(unresolved).toEqual([]);
  });

  it('no driver imports a domain module', () => {
    // Act
    const found = forbiddenImports(graph, /^shared\/drivers\//, domains);

    // Assess
    expect(found).toEqual([]);
  });

  it('health does not import deploy', () => {
    // Act
    const found = forbiddenImports(graph, /^shared\/health\//, /^shared\/deploy\//);

    // Assess
    expect(found).toEqual([]);
  });

  it('has no import circle but the known ones, and each known one still exists', () => {
    // Act
    const cycles = importCycles(graph).map(key);
    const known = KNOWN_CYCLES.map(key);

    // Assess
    expect(cycles.filter((c) => !known.includes(c))).toEqual([]);
    expect(known.filter((c) => !cycles.includes(c))).toEqual([]);
  });
});
