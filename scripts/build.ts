/**
 * `npm run build`: compiles the package into `dist/` (JavaScript with `.d.ts` declarations, since
 * Node does not strip types inside `node_modules`), copies the lab's non-TypeScript files and makes
 * the `stepops` bin executable. TypeScript 7 emits both, rewriting `./x.ts` imports to `./x.js` in
 * the JavaScript; the build rewrites them in the declarations too, the form every TypeScript reads.
 *
 * aws-local-stepfunctions (the local engine's interpreter) is bundled with its own dependencies into
 * `dist/vendor/`, its licenses beside it, and the engine imports it by relative path: it declares
 * Node 22 in its `engines` (it runs on 20 with `cli/node20.ts`), so as a dependency it would make
 * every install on Node 20 warn. It is a devDependency of this repository; the AWS SDK clients it
 * imports stay dependencies of the package, shared with stepops' own.
 *
 * The stacks type-check against SST's platform types (`.sst/platform`), so `sst install` runs
 * first when they are missing (offline, about a minute the first time).
 *
 * `node scripts/build.ts --if-changed` keeps `dist/` when it was built from the same inputs (the
 * files `tsconfig.build.json` includes, the manifests, the lock file and this script), as the
 * end-to-end test of the package does.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as esbuild } from 'esbuild';
import { ensureSstPlatform } from '../tests/infra/sst-install.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const DIST = path.join(ROOT, 'dist');

/** Files the compiled code reads at run time that are not TypeScript (the demo's lab). */
export const ASSETS = ['lab/app/server.mjs', 'lab/app/README.md', 'lab/bin/app-ctl.sh'];

/** The compiled `stepops` command (the package's bin). */
export const BIN = path.join(DIST, 'cli', 'stepops.js');

/** Where a finished build records the digest of its inputs (left out of the package). */
const STAMP = path.join(DIST, '.build-inputs');

/** Files the build reads besides those `tsconfig.build.json` includes. */
const CONFIG_INPUTS = [
  'package.json',
  'package-lock.json',
  'tsconfig.json',
  'tsconfig.build.json',
  'scripts/build.ts',
];

/** A dependency bundled into `dist/vendor/` rather than installed. */
export interface Vendored {
  /** The package name the sources import. */
  name: string;
  /** Imports left to the installed dependencies of the package (esbuild `external` patterns). */
  external: string[];
}

/** The dependencies bundled into `dist/vendor/<name>.js`. */
export const VENDORED: readonly Vendored[] = [{ name: 'aws-local-stepfunctions', external: ['@aws-sdk/*'] }];

/**
 * Imports of the built code that the installed package does not provide and need not: `sst`, which
 * the API Lambdas import and the user's SST app (where they are bundled) installs.
 */
const PROVIDED_BY_USER = new Set(['sst']);

/**
 * Modules the declarations name that are not dependencies: `@pulumi/aws` (the stacks' resource
 * types, which the user's SST platform installs in `.sst/platform`) and `aws-lambda` (the event types
 * of the Lambda handlers, modules the package does not export). No other module may appear there: a
 * vendored package's types, say, would leave the declarations pointing at a module no one installs.
 */
const DECLARED_ELSEWHERE = new Set([...PROVIDED_BY_USER, '@pulumi/aws', 'aws-lambda']);

/**
 * The module specifiers of `import … from '…'`/`export … from '…'` statements, `import '…'` and
 * `import('…')`: each pattern's groups are the text before the quote, the quote and the specifier.
 */
const SPECIFIERS = [
  /^(\s*(?:import|export)\s[^;'"]*?\bfrom\s*)(['"])([^'"\n]+)\2/gm,
  /^(\s*import\s*)(['"])([^'"\n]+)\2/gm,
  /(\bimport\(\s*)(['"])([^'"\n]+)\2/g,
];

/**
 * Rewrites the module specifiers of a file's source with `map` (a specifier it returns unchanged,
 * or `undefined` for, is kept).
 *
 * @example
 * rewriteSpecifiers("import { a } from './a.ts';", (s) => s.replace(/\.ts$/, '.js'));
 * // "import { a } from './a.js';"
 */
export function rewriteSpecifiers(source: string, map: (specifier: string) => string | undefined): string {
  return SPECIFIERS.reduce(
    (text, pattern) =>
      text.replace(pattern, (whole, lead: string, quote: string, specifier: string) => {
        const mapped = map(specifier);
        return mapped === undefined ? whole : `${lead}${quote}${mapped}${quote}`;
      }),
    source,
  );
}

/**
 * A relative `.ts`/`.tsx` import as the declarations should name it: `.js`/`.jsx`, the file that
 * exists beside the `.d.ts` at run time (TypeScript 5 and 7 read both forms; older ones only this).
 *
 * @example
 * declarationSpecifier('./schema.ts'); // './schema.js'
 * declarationSpecifier('zod'); // undefined
 */
export function declarationSpecifier(specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  return specifier.replace(/\.ts$/, '.js').replace(/\.tsx$/, '.jsx');
}

/**
 * The package a bare specifier names (`@scope/name` or `name`), or `undefined` for a relative
 * path, a Node built-in or a URL.
 *
 * @example
 * packageOfSpecifier('@aws-sdk/client-ssm'); // '@aws-sdk/client-ssm'
 * packageOfSpecifier('zod/v4'); // 'zod'
 * packageOfSpecifier('node:fs'); // undefined
 */
export function packageOfSpecifier(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || /^[a-z]+:/.test(specifier)) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  if (!name || builtinModules.includes(name)) return undefined;
  return name;
}

/**
 * The package an installed file belongs to: its path's last `node_modules/<name>` segment.
 *
 * @example
 * packageOfFile('node_modules/a/node_modules/@s/b/lib/x.js'); // { name: '@s/b', dir: 'node_modules/a/node_modules/@s/b' }
 */
export function packageOfFile(file: string): { name: string; dir: string } | undefined {
  const match = /^(.*node_modules\/)((?:@[^/]+\/)?[^/]+)\//.exec(file.replaceAll('\\', '/'));
  if (!match?.[1] || !match[2]) return undefined;
  return { name: match[2], dir: `${match[1]}${match[2]}` };
}

/** Every file under `dir` whose name ends with one of `suffixes`. */
function filesUnder(dir: string, suffixes: string[]): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && suffixes.some((s) => e.name.endsWith(s)))
    .map((e) => path.join(e.parentPath, e.name));
}

/** The license notices of the packages a bundle took files from, one section each. */
function licenseNotices(inputs: string[]): string {
  const packages = new Map<string, string>();
  for (const input of inputs) {
    const found = packageOfFile(input);
    if (found && !packages.has(found.dir)) packages.set(found.dir, found.name);
  }
  const sections: string[] = [];
  for (const [dir, name] of [...packages].sort((a, b) => a[1].localeCompare(b[1]))) {
    const manifest = JSON.parse(readFileSync(path.join(ROOT, dir, 'package.json'), 'utf8')) as {
      version: string;
      license?: string;
    };
    const file = readdirSync(path.join(ROOT, dir)).find((f) => /^(licen[cs]e|copying)/i.test(f));
    if (!file) throw new Error(`${dir} has no license file to ship with its bundled code`);
    const text = readFileSync(path.join(ROOT, dir, file), 'utf8').trim();
    sections.push(`${name}@${manifest.version} (${manifest.license ?? 'see below'})\n\n${text}\n`);
  }
  return `${sections.join(`\n${'-'.repeat(72)}\n\n`)}`;
}

/**
 * Bundles a dependency and its own dependencies (but its `external` ones) into
 * `dist/vendor/<name>.js`, an ES module, with `<name>.LICENSES.txt` beside it.
 */
async function vendor(dependency: Vendored): Promise<string> {
  const outfile = path.join(DIST, 'vendor', `${dependency.name}.js`);
  const result = await esbuild({
    entryPoints: [fileURLToPath(import.meta.resolve(dependency.name))],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: dependency.external,
    metafile: true,
    logLevel: 'warning',
    // The CommonJS parts of the bundle `require` Node built-ins (jsonpath-plus: `vm`).
    banner: {
      js: [
        `// ${dependency.name} and its dependencies, bundled by stepops' build; licenses: ./${dependency.name}.LICENSES.txt`,
        "import { createRequire as __vendorCreateRequire } from 'node:module';",
        'const require = __vendorCreateRequire(import.meta.url);',
      ].join('\n'),
    },
  });
  const inputs = Object.keys(result.metafile.inputs);
  writeFileSync(path.join(DIST, 'vendor', `${dependency.name}.LICENSES.txt`), licenseNotices(inputs));
  return outfile;
}

/** Points the built JavaScript's imports of vendored packages at their files under `dist/vendor/`. */
function linkVendored(vendored: ReadonlyMap<string, string>): void {
  for (const file of filesUnder(DIST, ['.js'])) {
    if (file.startsWith(path.join(DIST, 'vendor') + path.sep)) continue;
    const source = readFileSync(file, 'utf8');
    const rewritten = rewriteSpecifiers(source, (specifier) => {
      const target = vendored.get(specifier);
      if (!target) return undefined;
      const relative = path.relative(path.dirname(file), target).split(path.sep).join('/');
      return relative.startsWith('.') ? relative : `./${relative}`;
    });
    if (rewritten !== source) writeFileSync(file, rewritten);
  }
}

/** Rewrites the declarations' relative `.ts` imports to `.js`. */
function fixDeclarationImports(): void {
  for (const file of filesUnder(DIST, ['.d.ts'])) {
    const source = readFileSync(file, 'utf8');
    const rewritten = rewriteSpecifiers(source, declarationSpecifier);
    if (rewritten !== source) writeFileSync(file, rewritten);
  }
}

/**
 * The packages the built files import that the package neither depends on nor may leave to the
 * user (`sst` for JavaScript; for declarations, `.d.ts`, also the modules of `DECLARED_ELSEWHERE`),
 * with a file importing each: an installed package would fail to load them, or its types to resolve.
 */
export function missingImports(
  files: Iterable<{ file: string; source: string }>,
  dependencies: ReadonlySet<string>,
): Map<string, string> {
  const missing = new Map<string, string>();
  for (const { file, source } of files) {
    const elsewhere = file.endsWith('.d.ts') ? DECLARED_ELSEWHERE : PROVIDED_BY_USER;
    rewriteSpecifiers(source, (specifier) => {
      const name = packageOfSpecifier(specifier);
      if (name && !dependencies.has(name) && !elsewhere.has(name) && name !== 'stepops')
        missing.set(name, file);
      return undefined;
    });
  }
  return missing;
}

/** Throws when the built JavaScript or declarations import a package the package does not provide. */
function checkImports(): void {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const files = filesUnder(DIST, ['.js', '.d.ts']).map((file) => ({
    file,
    source: readFileSync(file, 'utf8'),
  }));
  const missing = missingImports(files, new Set(Object.keys(manifest.dependencies ?? {})));
  if (missing.size > 0) {
    const list = [...missing].map(([name, file]) => `  ${name} (imported by ${path.relative(ROOT, file)})`);
    throw new Error(`the built package imports packages that are not its dependencies:\n${list.join('\n')}`);
  }
}

/**
 * A digest of everything the build reads: the files and folders `tsconfig.build.json` includes
 * (but `node_modules`), the manifests, the lock file and this script, by path and content.
 */
export function inputsDigest(): string {
  const config = JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8')) as {
    include: string[];
  };
  const files: string[] = [...CONFIG_INPUTS];
  for (const entry of config.include) {
    const full = path.join(ROOT, entry);
    if (!existsSync(full)) continue;
    if (!statSync(full).isDirectory()) {
      files.push(entry);
      continue;
    }
    for (const e of readdirSync(full, { recursive: true, withFileTypes: true })) {
      const file = path.relative(ROOT, path.join(e.parentPath, e.name));
      if (e.isFile() && !file.split(path.sep).includes('node_modules')) files.push(file);
    }
  }
  const hash = createHash('sha256');
  for (const file of files.sort()) {
    hash.update(`${file}\0`);
    hash.update(readFileSync(path.join(ROOT, file)));
    hash.update('\0');
  }
  return hash.digest('hex');
}

/** Whether `dist/` holds a finished build of the current inputs. */
export function upToDate(): boolean {
  return existsSync(STAMP) && existsSync(BIN) && readFileSync(STAMP, 'utf8').trim() === inputsDigest();
}

/**
 * Builds `dist/` from scratch.
 *
 * @example
 * await build(); // dist/cli/stepops.js, dist/index.js, dist/stacks/index.js, … with .d.ts beside each
 */
export async function build(): Promise<void> {
  ensureSstPlatform();
  rmSync(DIST, { recursive: true, force: true });
  execFileSync(
    process.execPath,
    [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    { cwd: ROOT, stdio: 'inherit' },
  );
  for (const asset of ASSETS) {
    cpSync(path.join(ROOT, asset), path.join(DIST, asset), { preserveTimestamps: true });
  }
  const vendored = new Map<string, string>();
  for (const dependency of VENDORED) vendored.set(dependency.name, await vendor(dependency));
  linkVendored(vendored);
  fixDeclarationImports();
  checkImports();
  if (!existsSync(BIN)) throw new Error(`the build wrote no ${path.relative(ROOT, BIN)}`);
  chmodSync(BIN, 0o755);
  writeFileSync(STAMP, `${inputsDigest()}\n`);
}

if (import.meta.main) {
  if (process.argv.includes('--if-changed') && upToDate()) {
    process.stderr.write('stepops: dist/ is up to date\n');
  } else {
    await build();
  }
}
