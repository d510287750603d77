/**
 * Vitest global set-up: before any test runs, checks that the machine has the programs the suite
 * runs for real, and stops at once naming the Debian packages to install when one is missing.
 */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** A program the tests run, and the Debian package that provides it. */
interface Prerequisite {
  program: string;
  debianPackage: string;
  usedFor: string;
}

/** What the suite needs, as `.ci/run` installs it. */
export const PREREQUISITES: readonly Prerequisite[] = [
  { program: 'shellcheck', debianPackage: 'shellcheck', usedFor: 'linting every generated script' },
  { program: 'git', debianPackage: 'git', usedFor: 'the lab repository and deploys' },
  { program: 'openssl', debianPackage: 'openssl', usedFor: "the TLS probe's test certificate" },
  { program: 'restic', debianPackage: 'restic', usedFor: 'the restic backup and restore tests' },
  { program: 'curl', debianPackage: 'curl', usedFor: 'uploads and host-side HTTP probes' },
  { program: 'runuser', debianPackage: 'util-linux', usedFor: 'running PostgreSQL as its own user' },
  {
    program: '/usr/lib/postgresql/15/bin/initdb',
    debianPackage: 'postgresql',
    usedFor: 'the PostgreSQL dump and restore tests',
  },
  {
    program: '/usr/bin/chromium',
    debianPackage: 'chromium',
    usedFor: 'the console and status page tests (driven by puppeteer-core, no browser download)',
  },
];

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Whether `program` (a name looked up on PATH, or an absolute path) can be run. */
export function found(program: string, searchPath = process.env.PATH ?? ''): boolean {
  if (path.isAbsolute(program)) return isExecutable(program);
  return searchPath
    .split(path.delimiter)
    .filter(Boolean)
    .some((dir) => isExecutable(path.join(dir, program)));
}

/** The prerequisites not found on this machine. */
export function missingPrerequisites(searchPath?: string): Prerequisite[] {
  return PREREQUISITES.filter((p) => !found(p.program, searchPath));
}

/** Names the packages to install, or nothing when every prerequisite is there. */
export function prerequisitesMessage(missing: readonly Prerequisite[]): string | undefined {
  if (missing.length === 0) return undefined;
  const packages = [...new Set(missing.map((p) => p.debianPackage))].join(' ');
  const lines = missing.map((p) => `  - ${p.program} (${p.usedFor})`);
  return [
    'The test suite runs these programs for real, and this machine lacks them:',
    ...lines,
    `Install them first: sudo apt-get install -y ${packages}`,
  ].join('\n');
}

export default function setup(): void {
  const message = prerequisitesMessage(missingPrerequisites());
  if (!message) return;
  console.error(`\nstepops tests: ${message}\n`);
  process.exit(2);
}
