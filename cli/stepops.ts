#!/usr/bin/env node
/**
 * The `stepops` command. Each command's options and help live in `cli/definitions/<name>.ts`, which
 * exports `define(program)` and imports its work from `cli/commands/<name>.ts` only when the command
 * runs: `--help`, `--version` and a mistyped command line load neither the local engine, nor the AWS
 * SDK, nor the workflows. Adding a command is one line in {@link commands}.
 */
import './node20.ts';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { define as defineBackup } from './definitions/backup.ts';
import { define as defineCheck } from './definitions/check.ts';
import { define as defineConsole } from './definitions/console.ts';
import { define as defineDemo } from './definitions/demo.ts';
import { define as defineDeploy } from './definitions/deploy.ts';
import { define as defineFollow } from './definitions/follow.ts';
import { define as defineGraph } from './definitions/graph.ts';
import { define as defineHealth } from './definitions/health.ts';
import { define as defineHistory } from './definitions/history.ts';
import { define as defineInit } from './definitions/init.ts';
import { define as defineLogs } from './definitions/logs.ts';
import { define as defineMaintain } from './definitions/maintain.ts';
import { define as definePlan } from './definitions/plan.ts';
import { define as defineRecover } from './definitions/recover.ts';
import { define as defineReport } from './definitions/report.ts';
import { define as defineRollback } from './definitions/rollback.ts';
import { define as defineStatus } from './definitions/status.ts';
import { define as defineUnlock } from './definitions/unlock.ts';
import { define as defineValidate } from './definitions/validate.ts';
import { reportError } from './output.ts';

/** Every command, in the order `--help` lists them. */
const commands: ((program: Command) => void)[] = [
  defineInit,
  defineValidate,
  definePlan,
  defineCheck,
  defineDeploy,
  defineBackup,
  defineRecover,
  defineHealth,
  defineMaintain,
  defineDemo,
  defineUnlock,
  defineFollow,
  defineStatus,
  defineHistory,
  defineLogs,
  defineRollback,
  defineGraph,
  defineReport,
  defineConsole,
];

/**
 * The version in the package's `package.json`: the nearest one above this file, which is
 * `../package.json` from the sources and `../../package.json` from the compiled `dist/cli/`.
 *
 * @example
 * packageVersion(import.meta.dirname) // '0.1.0'
 */
export function packageVersion(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

/** The package's version, for `stepops --version`. */
export const VERSION: string = packageVersion(import.meta.dirname);

/**
 * Builds the program with every command registered; errors are thrown, not exited on.
 *
 * @example
 * await buildProgram().parseAsync(['node', 'stepops', 'validate']);
 */
export function buildProgram(): Command {
  const program = new Command('stepops')
    .description('serverless operations orchestrator: deploys, backups, health probes and recovery runbooks')
    .version(VERSION, '-V, --version', 'print the version')
    .showHelpAfterError('(run "stepops --help" for usage)')
    .option(
      '--targets <dir>',
      'the targets directory (default: $STEPOPS_TARGETS_DIR, else stepops/targets/ if it exists, else targets/)',
    )
    // Every command sees the targets of the directory, listed now: a new file needs no other step.
    // Listing them loads each target file (bundled by esbuild), hence before an action only.
    .hook('preAction', async () => {
      const [{ chooseTargetsDirectory }, { discoverTargets }] = await Promise.all([
        import('../shared/config/discovery.ts'),
        import('../shared/config/registry.ts'),
      ]);
      chooseTargetsDirectory(program.opts<{ targets?: string }>().targets);
      await discoverTargets();
    })
    .exitOverride();
  for (const define of commands) define(program);
  for (const command of program.commands) command.exitOverride();
  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  process.exitCode = reportError(error);
}
