/**
 * `stepops init [--name N] [--local DIR] [--url URL]`: writes the starting files of stepops into the
 * current repository, changing nothing that exists: one example target in `stepops/targets/`, an
 * `sst.config.ts` that builds the stacks from the package (or, when one exists, the lines to add),
 * and the `.gitignore` lines stepops needs. Then prints the next three commands.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { NAME_PATTERN } from '../../shared/config/names.ts';
import { EXIT, type Output, stdio } from '../output.ts';

/** Where `init` writes the example target, relative to the repository. */
export const INIT_TARGETS_DIRECTORY = 'stepops/targets';

/** The lines `init` makes sure `.gitignore` has: SST's state and stepops' local runs. */
export const GITIGNORE_LINES = ['.sst', '.stepops'];

/** Options of {@link init}. */
export interface InitOptions {
  /** The target's name (default: the repository directory's name, made a valid name). */
  name?: string;
  /** A directory on this machine that plays the host, instead of EC2 instances (to try it locally). */
  local?: string;
  /** The URL the health probe asks (default: an `unfilled(…)` domain). */
  url?: string;
}

/** One file `init` writes or leaves alone. */
export interface InitFile {
  /** Relative to the repository. */
  file: string;
  /** What `init` did with it. */
  action: 'created' | 'kept' | 'appended';
  /** The new content (created) or the lines added (appended). */
  content?: string;
}

/** What `init` plans to do: every file, and what to print about those it keeps. */
export interface InitPlan {
  name: string;
  files: InitFile[];
  /** The lines an existing `sst.config.ts` needs, when it does not build stepops' stacks yet. */
  sstConfigLines?: string;
}

/**
 * The target name `init` would use for a directory: its name in lowercase with every run of other
 * characters made a dash, when that is a valid target name.
 *
 * @example
 * nameFromDirectory('/work/My_App') // 'my-app'
 * nameFromDirectory('/work/2048') // undefined (a name starts with a letter)
 */
export function nameFromDirectory(dir: string): string | undefined {
  const name = path
    .basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return NAME_PATTERN.test(name) ? name : undefined;
}

/** A single-quoted TypeScript string literal. */
function quoted(text: string): string {
  return `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/**
 * The example target file: the common sections, commented, with `unfilled(…)` where only the user
 * knows the value.
 *
 * @example
 * exampleTarget('shop', {}) // "import { … } from 'stepops';\n…name: 'shop',…"
 */
export function exampleTarget(name: string, options: Pick<InitOptions, 'local' | 'url'>): string {
  const url =
    options.url !== undefined ? quoted(options.url) : "`https://${unfilled('public domain of the app')}/`";
  const hosts =
    options.local !== undefined
      ? `  // A directory on this machine plays the host (a git clone of the app): rehearse deploys and
  // runbooks locally. For EC2, use: { type: 'ec2', region, tags: { 'stepops:target': ${quoted(name)} },
  // user, workingDirectory }.
  hosts: { type: 'local', directory: ${quoted(options.local)} },`
      : `  // The EC2 instances, selected by tag (each runs the SSM agent); every step runs as \`user\` in
  // \`workingDirectory\`, a git clone of the app whose \`git fetch\` works.
  hosts: {
    type: 'ec2',
    region: unfilled('AWS region of the instances, such as eu-west-1'),
    tags: { 'stepops:target': ${quoted(name)} },
    user: 'ubuntu',
    workingDirectory: ${quoted(`/srv/${name}`)},
  },`;
  return `/**
 * The ${name} target, written by \`stepops init\`: what runs on its hosts to deploy, check, back up
 * and recover it. Replace every \`unfilled(…)\` with the real value (\`stepops validate --stage <stage>\`
 * lists them), then \`stepops validate\` and \`stepops plan deploy ${name}\`.
 */
import { checkoutPrevious, checkoutRef, defineTarget, unfilled, verifyRef } from 'stepops';

/** How the app restarts on a host after a checkout (a systemd unit, PM2, docker compose, …). */
const restart = ${quoted(`sudo systemctl restart ${name}`)};

export default defineTarget({
  name: ${quoted(name)},
  description: ${quoted(`${name}: describe the app in one line`)},
  // The GitHub repository whose pushes deploy the target (owner/name).
  repository: unfilled('GitHub repository of the app, as owner/name'),
${hosts}
  deploy: {
    // On every host before anything changes: a mistyped ref fails here.
    verify: [{ name: 'ref-exists', script: verifyRef, timeout: 120 }],
    // In order, on each batch of hosts; a failing step stops the deploy and runs the rollback.
    steps: [
      { name: 'checkout', script: checkoutRef, timeout: 120 },
      { name: 'restart', script: restart, timeout: 120 },
    ],
    rollback: [
      { name: 'checkout-previous', script: checkoutPrevious, timeout: 60 },
      { name: 'restart', script: restart, timeout: 120 },
    ],
    batches: { size: 1, maxErrors: 0 },
    // After each batch: these probes must pass \`successes\` times in a row within \`timeout\` seconds.
    healthGate: { probes: ['site'], timeout: 120, interval: 5, successes: 2 },
  },
  health: {
    // On AWS, the probes run on this schedule and alert when a probe fails \`failureThreshold\` times.
    schedule: 'rate(5 minutes)',
    probes: [{ name: 'site', type: 'http', url: ${url}, expectStatus: [200], timeout: 5 }],
    failureThreshold: 2,
    onFailure: { runbook: 'restart' },
  },
  // Backups: EBS and RDS snapshots, AWS Backup jobs, database dumps to S3, each with its schedule and
  // retention, for example:
  // backup: [{ name: 'database', type: 'dump', schedule: 'cron(0 2 * * ? *)', … }],
  // Runbooks, started from the console or by a failing probe; \`verify\` probes must pass after them.
  recovery: {
    restart: {
      description: 'Restart the app from its current checkout',
      steps: [{ type: 'script', name: 'restart', script: restart, timeout: 120 }],
      verify: ['site'],
    },
  },
});
`;
}

/** The `sst.config.ts` that builds stepops' stacks from the package. */
export function sstConfig(app: string): string {
  return `/// <reference path="./.sst/platform/config.d.ts" />
/**
 * stepops on AWS: \`npx sst deploy --stage <stage>\` creates its state machines, Lambdas, schedules and
 * alerts for the targets in stepops/targets/.
 */
export default $config({
  app(input) {
    return {
      name: ${quoted(app)},
      home: 'aws',
      removal: input?.stage === 'production' ? 'retain' : 'remove',
      protect: input?.stage === 'production',
    };
  },
${SST_RUN}
});
`;
}

/** The `run()` of an `sst.config.ts` that builds stepops' stacks. */
const SST_RUN = `  async run() {
    const { createStacks } = await import('stepops/stacks');
    return createStacks();
  },`;

/** Whether an existing `sst.config.ts` already builds stepops' stacks. */
function buildsStepopsStacks(config: string): boolean {
  return /['"]stepops\/stacks['"]/.test(config);
}

/** The `.gitignore` lines missing from a file's content (compared without a trailing slash). */
export function missingGitignoreLines(content: string): string[] {
  const present = new Set(
    content
      .split(/\r?\n/)
      .map((line) => line.trim().replace(/^\//, '').replace(/\/$/, ''))
      .filter(Boolean),
  );
  return GITIGNORE_LINES.filter((line) => !present.has(line));
}

/**
 * Checks the options and decides what `init` writes in a repository, without writing.
 *
 * @example
 * planInit('/work/shop', { local: 'lab/host' }).files.map((f) => `${f.action} ${f.file}`)
 * // ['created stepops/targets/shop.ts', 'created sst.config.ts', 'created .gitignore']
 * @returns the plan, or the message for bad input
 */
export function planInit(root: string, options: InitOptions): InitPlan | { error: string } {
  const name = options.name ?? nameFromDirectory(root);
  if (name === undefined) {
    return {
      error: `cannot make a target name of the directory "${path.basename(root)}": give one with --name`,
    };
  }
  if (!NAME_PATTERN.test(name)) {
    return {
      error: `--name "${name}": expected lowercase letters, digits and dashes, starting with a letter (at most 63)`,
    };
  }
  if (options.local !== undefined && !/^[A-Za-z0-9._/@+][A-Za-z0-9._/@+-]*$/.test(options.local)) {
    return {
      error: `--local "${options.local}": expected a directory path of plain characters, not starting with "-"`,
    };
  }
  if (options.url !== undefined && !isHttpUrl(options.url)) {
    return { error: `--url "${options.url}": expected an http:// or https:// URL` };
  }
  const files: InitFile[] = [];
  const targetFile = `${INIT_TARGETS_DIRECTORY}/${name}.ts`;
  files.push(
    existsSync(path.join(root, targetFile))
      ? { file: targetFile, action: 'kept' }
      : { file: targetFile, action: 'created', content: exampleTarget(name, options) },
  );
  let sstConfigLines: string | undefined;
  const configPath = path.join(root, 'sst.config.ts');
  if (existsSync(configPath)) {
    files.push({ file: 'sst.config.ts', action: 'kept' });
    if (!buildsStepopsStacks(readFileSync(configPath, 'utf8'))) sstConfigLines = SST_RUN;
  } else {
    files.push({ file: 'sst.config.ts', action: 'created', content: sstConfig(name) });
  }
  const gitignorePath = path.join(root, '.gitignore');
  const gitignore = existsSync(gitignorePath) ? readFileSync(gitignorePath, 'utf8') : undefined;
  const missing = missingGitignoreLines(gitignore ?? '');
  if (gitignore === undefined) {
    files.push({ file: '.gitignore', action: 'created', content: `${missing.join('\n')}\n` });
  } else if (missing.length > 0) {
    const separator = gitignore === '' || gitignore.endsWith('\n') ? '' : '\n';
    files.push({ file: '.gitignore', action: 'appended', content: `${separator}${missing.join('\n')}\n` });
  } else {
    files.push({ file: '.gitignore', action: 'kept' });
  }
  return { name, files, ...(sstConfigLines !== undefined ? { sstConfigLines } : {}) };
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && !/['`\\\n]/.test(text);
  } catch {
    return false;
  }
}

/**
 * Writes the starting files into a repository (nothing that exists is changed, `.gitignore` only
 * gets its missing lines appended) and prints what it did and the next three commands.
 *
 * @example
 * const code = init(process.cwd(), { name: 'shop' });
 * @returns the exit code: 2 (nothing written) for bad input
 */
export function init(root: string, options: InitOptions = {}, output: Output = stdio): number {
  const plan = planInit(root, options);
  if ('error' in plan) {
    output.err(`stepops: ${plan.error}`);
    return EXIT.invalidInput;
  }
  for (const { file, action, content } of plan.files) {
    const target = path.join(root, file);
    if (action === 'created') {
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, content ?? '', { flag: 'wx' });
    } else if (action === 'appended') {
      writeFileSync(target, content ?? '', { flag: 'a' });
    }
    output.out(`${action === 'kept' ? 'kept   ' : action === 'created' ? 'created' : 'updated'} ${file}`);
  }
  if (plan.sstConfigLines !== undefined) {
    output.out(
      `\nsst.config.ts exists: build stepops' stacks from it with this run() (or call createStacks() in yours):\n\n${plan.sstConfigLines}\n`,
    );
  }
  const next: [string, string][] = [
    ['npx stepops validate', `checks ${INIT_TARGETS_DIRECTORY}/${plan.name}.ts`],
    [`npx stepops plan deploy ${plan.name}`, 'shows what a deploy runs, on which hosts'],
    options.local !== undefined
      ? [`npx stepops deploy ${plan.name} --ref main`, 'deploys on the local engine']
      : ['npx stepops validate --stage prod', 'lists the values to fill in before a stage deploys it'],
  ];
  const width = Math.max(...next.map(([command]) => command.length));
  output.out(
    ['', 'Next:', ...next.map(([command, what]) => `  ${command.padEnd(width)}  # ${what}`)].join('\n'),
  );
  return EXIT.ok;
}
