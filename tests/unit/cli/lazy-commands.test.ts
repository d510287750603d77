/**
 * `stepops --help`, `--version` and commander's errors answer without loading the heavy modules:
 * the command definitions import each command's work only when its action runs. Each command line
 * runs the real binary with a preloaded hook that records every module loaded.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../shared/config/load.ts';

const NODE = path.join(PROJECT_ROOT, 'node_modules/.bin/node');
const CLI = path.join(PROJECT_ROOT, 'cli/stepops.ts');
const RECORDER = path.join(import.meta.dirname, 'record-loads.ts');
const dir = mkdtempSync(path.join(tmpdir(), 'stepops-lazy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let runs = 0;

/** Runs `stepops args…` and answers its exit code, output and the URLs of the modules it loaded. */
function loadsOf(...args: string[]): { code: number | null; stdout: string; stderr: string; urls: string[] } {
  const file = path.join(dir, `loads-${++runs}.txt`);
  const result = spawnSync(NODE, ['--import', RECORDER, CLI, ...args], {
    cwd: PROJECT_ROOT,
    encoding: 'utf8',
    env: { ...process.env, STEPOPS_LOADS_FILE: file },
  });
  const urls = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, urls };
}

/** The modules `--help` and its kin must not load: the AWS SDK, the local engine, the workflows. */
const HEAVY = [
  /\/@aws-sdk\//,
  /aws-local-stepfunctions/,
  /\/shared\/engine\//,
  /\/workflows\//,
  /\/cli\/commands\//,
];

function heavyOf(urls: string[]): string[] {
  return urls.filter((url) => HEAVY.some((pattern) => pattern.test(url)));
}

describe('stepops loads a command’s work only when it runs', () => {
  it.each([
    [['--help'], 0],
    [['--version'], 0],
    [['deploy', '--help'], 0],
    [['plan', '--help'], 0],
    [['deploy'], 2], // missing argument: commander's error
    [['nope'], 2], // unknown command
    [['plan', 'nonsense', 'demo'], 2], // a workflow not among the choices
  ])('stepops %j loads no engine, AWS SDK or workflow (exit %i)', (args, code) => {
    const run = loadsOf(...args);
    expect(run.code, run.stderr).toBe(code);
    expect(run.urls.some((url) => url.endsWith('/cli/stepops.ts'))).toBe(true);
    expect(heavyOf(run.urls)).toEqual([]);
  });

  it('loads the command’s work when its action runs (the recorder sees it)', () => {
    const run = loadsOf('graph', 'deploy');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('flowchart');
    expect(run.urls.some((url) => url.endsWith('/cli/commands/graph.ts'))).toBe(true);
    expect(run.urls.some((url) => url.endsWith('/workflows/deploy.ts'))).toBe(true);
  });
});
