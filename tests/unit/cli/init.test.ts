import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { init, missingGitignoreLines, nameFromDirectory } from '../../../cli/commands/init.ts';
import { loadTargetFile } from '../../../shared/config/load.ts';
import { deployUnfilledValues, unfilledValues } from '../../../shared/config/schema.ts';

let root: string;

/** Runs init in `root`, capturing what it prints. */
function run(options: Parameters<typeof init>[1] = {}): { code: number; out: string; err: string } {
  const out: string[] = [];
  const err: string[] = [];
  const code = init(root, options, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Every file under a directory, relative, sorted. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'stepops-init-'));
  // A repository directory whose name makes a target name.
  root = path.join(root, 'My_Shop');
  mkdirSync(root);
});
afterEach(() => {
  rmSync(path.dirname(root), { recursive: true, force: true });
});

describe('stepops init in an empty repository', () => {
  it('writes the example target, sst.config.ts and .gitignore, and prints the next three commands', async () => {
    const { code, out } = run();

    expect(code).toBe(0);
    expect(tree(root)).toEqual(['.gitignore', 'sst.config.ts', 'stepops/targets/my-shop.ts']);
    expect(readFileSync(path.join(root, '.gitignore'), 'utf8')).toBe('.sst\n.stepops\n');
    const config = readFileSync(path.join(root, 'sst.config.ts'), 'utf8');
    expect(config).toContain("await import('stepops/stacks')");
    expect(config).toContain("name: 'my-shop'");
    const next = out.slice(out.indexOf('Next:')).split('\n').slice(1);
    expect(next.map((line) => line.trim().split(/\s+#/)[0])).toEqual([
      'npx stepops validate',
      'npx stepops plan deploy my-shop',
      'npx stepops validate --stage prod',
    ]);
  });

  it('writes a target that validates, with unfilled(…) where only the user knows the value', async () => {
    run();

    const { target } = await loadTargetFile(path.join(root, 'stepops/targets/my-shop.ts'));
    expect(target.name).toBe('my-shop');
    expect(target.hosts).toMatchObject({ type: 'ec2', tags: { 'stepops:target': 'my-shop' } });
    expect(target.deploy?.healthGate.probes).toEqual(['site']);
    expect(Object.keys(target.recovery ?? {})).toEqual(['restart']);
    expect(unfilledValues(target).map((v) => v.path)).toEqual([
      'repository',
      'hosts.region',
      'health.probes[0].url',
    ]);
  });

  it('with --local and --url, writes a target a local deploy can run (nothing unfilled on its way)', async () => {
    const { code, out } = run({ name: 'shop', local: 'lab/host', url: 'http://127.0.0.1:47999/health' });

    expect(code).toBe(0);
    const { target } = await loadTargetFile(path.join(root, 'stepops/targets/shop.ts'));
    expect(target.hosts).toEqual({ type: 'local', directory: 'lab/host' });
    expect(target.health?.probes[0]).toMatchObject({ url: 'http://127.0.0.1:47999/health' });
    expect(deployUnfilledValues(target)).toEqual([]);
    expect(out).toContain('npx stepops deploy shop --ref main');
  });
});

describe('stepops init keeps what exists', () => {
  it('leaves an existing target file, sst.config.ts and .gitignore byte for byte, appending only missing lines', () => {
    const files = {
      'stepops/targets/shop.ts': 'export default { mine: true };\n',
      'sst.config.ts':
        '// my own app\nexport default $config({ app() { return { name: "x" }; }, async run() {} });',
      '.gitignore': 'node_modules\n.sst/',
    };
    for (const [file, content] of Object.entries(files)) {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      writeFileSync(path.join(root, file), content);
    }

    const { code, out } = run({ name: 'shop' });

    expect(code).toBe(0);
    expect(readFileSync(path.join(root, 'stepops/targets/shop.ts'), 'utf8')).toBe(
      files['stepops/targets/shop.ts'],
    );
    expect(readFileSync(path.join(root, 'sst.config.ts'), 'utf8')).toBe(files['sst.config.ts']);
    expect(readFileSync(path.join(root, '.gitignore'), 'utf8')).toBe('node_modules\n.sst/\n.stepops\n');
    expect(out).toContain('kept    stepops/targets/shop.ts');
    expect(out).toContain('kept    sst.config.ts');
    expect(out).toContain('updated .gitignore');
    // The lines to add to the existing sst.config.ts.
    expect(out).toContain("const { createStacks } = await import('stepops/stacks');");
  });

  it('prints no lines for an sst.config.ts that builds stepops already, and keeps a complete .gitignore', () => {
    const config =
      "export default $config({ async run() { return (await import('stepops/stacks')).createStacks(); } });\n";
    writeFileSync(path.join(root, 'sst.config.ts'), config);
    writeFileSync(path.join(root, '.gitignore'), '/.stepops/\n.sst\n');

    const { code, out } = run({ name: 'shop' });

    expect(code).toBe(0);
    expect(readFileSync(path.join(root, 'sst.config.ts'), 'utf8')).toBe(config);
    expect(readFileSync(path.join(root, '.gitignore'), 'utf8')).toBe('/.stepops/\n.sst\n');
    expect(out).toContain('kept    .gitignore');
    expect(out).not.toContain('createStacks');
  });

  it('a second init changes nothing', () => {
    run({ name: 'shop' });
    const before = Object.fromEntries(tree(root).map((f) => [f, readFileSync(path.join(root, f), 'utf8')]));

    const { code } = run({ name: 'shop' });

    expect(code).toBe(0);
    expect(Object.fromEntries(tree(root).map((f) => [f, readFileSync(path.join(root, f), 'utf8')]))).toEqual(
      before,
    );
  });
});

describe('stepops init refuses bad input, writing nothing', () => {
  it.each([
    [{ name: 'My_Shop' }, /--name "My_Shop": expected lowercase letters, digits and dashes/],
    [{ name: '' }, /--name "": expected lowercase/],
    [{ name: 'shop', local: '-rf' }, /--local "-rf": expected a directory path/],
    [{ name: 'shop', local: 'a b' }, /--local "a b"/],
    [{ name: 'shop', url: 'ftp://example.com/' }, /--url "ftp:\/\/example.com\/": expected an http/],
    [{ name: 'shop', url: 'not a url' }, /--url "not a url"/],
    [{ name: 'shop', url: "https://x.example/'+process.exit()+'" }, /--url/],
  ])('%o exits 2 with a message', (options, message) => {
    const { code, err } = run(options);

    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(tree(root)).toEqual([]);
  });

  it('asks for --name when the directory name makes no target name', () => {
    const digits = path.join(path.dirname(root), '2048');
    mkdirSync(digits);
    root = digits;

    const { code, err } = run();

    expect(code).toBe(2);
    expect(err).toMatch(/cannot make a target name of the directory "2048": give one with --name/);
    expect(existsSync(path.join(digits, 'stepops'))).toBe(false);
    expect(tree(digits)).toEqual([]);
  });
});

describe('init helpers', () => {
  it('makes a target name of a directory name, or none', () => {
    expect(nameFromDirectory('/work/My_App')).toBe('my-app');
    expect(nameFromDirectory('/work/shop.example.com')).toBe('shop-example-com');
    expect(nameFromDirectory('/work/--x--')).toBe('x');
    expect(nameFromDirectory('/work/2048')).toBeUndefined();
    expect(nameFromDirectory('/work/___')).toBeUndefined();
    expect(nameFromDirectory(`/work/${'a'.repeat(80)}`)).toBe('a'.repeat(63));
  });

  it('finds the .gitignore lines missing, with or without slashes', () => {
    expect(missingGitignoreLines('')).toEqual(['.sst', '.stepops']);
    expect(missingGitignoreLines('/.sst/\r\n.stepops/\n')).toEqual([]);
    expect(missingGitignoreLines('.sst-old\n# .stepops\n')).toEqual(['.sst', '.stepops']);
  });
});
