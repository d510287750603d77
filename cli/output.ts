/**
 * What the CLI prints and how it ends: the exit codes, the one error handler (no stack traces
 * for expected errors), and the small text helpers the commands share.
 */
import { CommanderError } from 'commander';
import { ConfigError, formatIssue } from '../shared/config/load.ts';
import type { Hosts } from '../shared/config/schema.ts';
import { splitIntoBatches } from '../shared/deploy/plan.ts';
import { InvalidInputError } from '../shared/errors.ts';

/** Exit codes: 0 done, 1 unexpected error, 2 invalid input (arguments, target files, refs). */
export const EXIT = { ok: 0, unexpected: 1, invalidInput: 2 } as const;

/** Where commands write; tests may replace it. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** Standard output and standard error. */
export const stdio: Output = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

/**
 * How a user runs stepops from a shell in their repository: the package's bin through `npx`, which
 * works as printed wherever the package is installed (and in this repository).
 */
export const CLI_COMMAND = 'npx stepops';

/**
 * A stepops command line as a user types it, for the commands the CLI prints to try next.
 *
 * @example
 * userCommand('status demo') // 'npx stepops status demo'
 */
export function userCommand(args: string): string {
  return `${CLI_COMMAND} ${args}`;
}

/** Bad input found by a command itself; printed as `stepops: <message>`, exit 2. */
export class UsageError extends InvalidInputError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Turns any error a command throws into a message and an exit code: expected errors (invalid
 * input, invalid target files, usage) exit 2 with their message; anything else exits 1 with a
 * one-line message (the stack only with `STEPOPS_DEBUG=1`).
 *
 * @example
 * process.exitCode = reportError(error, stdio);
 */
export function reportError(error: unknown, output: Output = stdio): number {
  if (error instanceof CommanderError) {
    // Commander has printed its own message (or the help) already.
    if (
      error.exitCode === 0 ||
      error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.version'
    ) {
      return EXIT.ok;
    }
    return EXIT.invalidInput;
  }
  if (error instanceof ConfigError) {
    for (const issue of error.issues) output.err(formatIssue(issue));
    return EXIT.invalidInput;
  }
  if (error instanceof InvalidInputError) {
    output.err(`stepops: ${error.message}`);
    return EXIT.invalidInput;
  }
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  output.err(`stepops: unexpected error: ${message}`);
  if (process.env.STEPOPS_DEBUG && error instanceof Error && error.stack) output.err(error.stack);
  return EXIT.unexpected;
}

/**
 * Indents every non-empty line of a block.
 *
 * @example
 * indent('a\nb', 2) // '  a\n  b'
 */
export function indent(text: string, spaces = 2): string {
  const pad = ' '.repeat(spaces);
  return text
    .replace(/\n$/, '')
    .split('\n')
    .map((line) => (line ? pad + line : line))
    .join('\n');
}

/**
 * A script printed verbatim (never indented: indenting would change its quoted strings) between
 * two marker lines.
 *
 * @example
 * scriptBlock('deploy script', '#!/usr/bin/env bash\n…')
 * // '----- deploy script -----\n#!/usr/bin/env bash\n…\n----- end of deploy script -----'
 */
export function scriptBlock(title: string, script: string): string {
  return `----- ${title} -----\n${script.replace(/\n$/, '')}\n----- end of ${title.replace(/ \(.*\)$/, '')} -----`;
}

/**
 * The hosts of a target in one line: instance ids, tag selector or local directory, with the user
 * and working directory.
 *
 * @example
 * describeHostSelection({ type: 'local', directory: '.stepops/demo/host' }) // 'local host .stepops/demo/host'
 */
export function describeHostSelection(hosts: Hosts): string {
  if (hosts.type === 'local') {
    return Array.isArray(hosts.directory)
      ? `local hosts ${hosts.directory.join(', ')} (one host each)`
      : `local host ${hosts.directory}`;
  }
  const where = `in ${hosts.region}, as ${hosts.user} in ${hosts.workingDirectory}`;
  if ('instanceIds' in hosts) return `ec2 instances ${hosts.instanceIds.join(', ')} ${where}`;
  const tags = Object.entries(hosts.tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  return `ec2 instances tagged ${tags} (resolved at run time) ${where}`;
}

/**
 * The ids of a target's hosts when the target file names them (local directories, instance ids),
 * in the order a run takes them; undefined when tags select them at run time.
 *
 * @example
 * knownHostIds({ type: 'local', directory: ['a', 'b'] }) // ['local:a', 'local:b']
 */
export function knownHostIds(hosts: Hosts): string[] | undefined {
  if (hosts.type === 'local') {
    // As the local host directory names them: one host per directory.
    return (Array.isArray(hosts.directory) ? hosts.directory : [hosts.directory]).map(
      (dir) => `local:${dir}`,
    );
  }
  return 'instanceIds' in hosts ? [...hosts.instanceIds] : undefined;
}

/**
 * The batches of a deploy: the split itself when the hosts are known (ids, local directories, each
 * a host of its own), else the rule applied to the instances the tags select at run time.
 *
 * @example
 * describeBatches({ type: 'ec2', region: 'eu-west-1', instanceIds: ['i-1', 'i-2', 'i-3'], ... }, 2, 0)
 * // ['batch 1: i-1, i-2', 'batch 2: i-3', 'max errors per batch: 0']
 */
export function describeBatches(hosts: Hosts, size: number | string, maxErrors: number | string): string[] {
  const errors = `max errors per batch: ${maxErrors}`;
  const ids = knownHostIds(hosts);
  if (ids) {
    return [...splitIntoBatches(ids, size).map((batch, i) => `batch ${i + 1}: ${batch.join(', ')}`), errors];
  }
  const rule =
    typeof size === 'number'
      ? `${size} instance${size === 1 ? '' : 's'} per batch`
      : `${size} of the tagged instances per batch (rounded up, at least 1)`;
  return [`${rule}, in the order the instances are found`, errors];
}
