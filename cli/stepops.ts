#!/usr/bin/env node
/**
 * The `stepops` command. Each command lives in `cli/commands/<name>.ts` and exports
 * `register(program)`; adding a command is one line in {@link commands}.
 */
import './node20.ts';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { chooseTargetsDirectory } from '../shared/config/discovery.ts';
import { discoverTargets } from '../shared/config/registry.ts';
import { register as registerBackup } from './commands/backup.ts';
import { register as registerCheck } from './commands/check.ts';
import { register as registerConsole } from './commands/console.ts';
import { register as registerDemo } from './commands/demo.ts';
import { register as registerDeploy } from './commands/deploy.ts';
import { register as registerFollow } from './commands/follow.ts';
import { register as registerGraph } from './commands/graph.ts';
import { register as registerHealth } from './commands/health.ts';
import { register as registerHistory } from './commands/history.ts';
import { register as registerInit } from './commands/init.ts';
import { register as registerLogs } from './commands/logs.ts';
import { register as registerMaintain } from './commands/maintain.ts';
import { register as registerPlan } from './commands/plan.ts';
import { register as registerRecover } from './commands/recover.ts';
import { register as registerReport } from './commands/report.ts';
import { register as registerRollback } from './commands/rollback.ts';
import { register as registerStatus } from './commands/status.ts';
import { register as registerUnlock } from './commands/unlock.ts';
import { register as registerValidate } from './commands/validate.ts';
import { reportError } from './output.ts';

/** Every command, in the order `--help` lists them. */
const commands: ((program: Command) => void)[] = [
  registerInit,
  registerValidate,
  registerPlan,
  registerCheck,
  registerDeploy,
  registerBackup,
  registerRecover,
  registerHealth,
  registerMaintain,
  registerDemo,
  registerUnlock,
  registerFollow,
  registerStatus,
  registerHistory,
  registerLogs,
  registerRollback,
  registerGraph,
  registerReport,
  registerConsole,
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
    .hook('preAction', async () => {
      chooseTargetsDirectory(program.opts<{ targets?: string }>().targets);
      await discoverTargets();
    })
    .exitOverride();
  for (const register of commands) register(program);
  for (const command of program.commands) command.exitOverride();
  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (error) {
  process.exitCode = reportError(error);
}
