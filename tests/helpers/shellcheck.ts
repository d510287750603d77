/**
 * Runs shellcheck as the script-linting tests need it: asynchronously (a synchronous spawn on a
 * loaded machine can fail with EAGAIN and leave no output at all), and saying clearly when the
 * linter is missing instead of reporting an empty result.
 */
import { execFile } from 'node:child_process';

/** What shellcheck said: its exit code and its findings (empty when every script passes). */
export interface ShellcheckResult {
  code: number;
  findings: string;
}

const TRANSIENT_SPAWN_ERRORS = new Set(['EAGAIN', 'ENOMEM', 'EMFILE']);

function runOnce(args: readonly string[], input: string | undefined, cwd: string | undefined) {
  return new Promise<ShellcheckResult>((resolve, reject) => {
    const child = execFile(
      'shellcheck',
      [...args],
      { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, ...(cwd ? { cwd } : {}) },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : undefined) : 0;
        if (code === undefined) return reject(error);
        if (code > 1) return reject(new Error(`shellcheck failed (exit ${code}): ${stderr || stdout}`));
        resolve({ code, findings: stdout });
      },
    );
    child.stdin?.end(input ?? '');
  });
}

/**
 * Lints scripts with shellcheck: `script` on standard input, or `files` (relative to `cwd`).
 * Retries a spawn the machine refused for lack of resources; throws when shellcheck is missing.
 *
 * @example
 * const { findings } = await shellcheck({ script: '#!/usr/bin/env bash\necho "$1"\n' });
 * expect(findings).toBe('');
 */
export async function shellcheck(options: {
  script?: string;
  files?: readonly string[];
  cwd?: string;
  format?: 'gcc' | 'tty';
}): Promise<ShellcheckResult> {
  const args = ['-s', 'bash', ...(options.format ? ['-f', options.format] : []), ...(options.files ?? ['-'])];
  for (let attempt = 1; ; attempt++) {
    try {
      return await runOnce(args, options.files ? undefined : options.script, options.cwd);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') throw new Error('shellcheck is not installed (apt-get install -y shellcheck)');
      if (!(code && TRANSIENT_SPAWN_ERRORS.has(code)) || attempt >= 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}
