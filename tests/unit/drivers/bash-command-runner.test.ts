import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BashCommandRunner } from '../../../shared/drivers/local/bash-command-runner.ts';
import type {
  CommandHandle,
  CommandRunner,
  HostRef,
  InvocationResult,
} from '../../../shared/drivers/ports.ts';
import { OUTPUT_TAIL_LIMIT } from '../../../shared/drivers/ports.ts';
import { renderScript } from '../../../shared/shell/script.ts';

async function waitForEnd(runner: CommandRunner, handle: CommandHandle): Promise<InvocationResult[]> {
  for (;;) {
    const results = await runner.status(handle);
    if (results.every((r) => r.state !== 'running' && r.state !== 'pending')) return results;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('BashCommandRunner', () => {
  let home: string;
  let hostDir: string;
  let host: HostRef;
  const previousHome = process.env.STEPOPS_HOME;

  beforeEach(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'stepops-home-'));
    hostDir = await mkdtemp(path.join(tmpdir(), 'stepops-host-'));
    process.env.STEPOPS_HOME = home;
    host = { kind: 'local', id: 'local:lab/app', directory: hostDir };
  });

  afterEach(async () => {
    if (previousHome === undefined) delete process.env.STEPOPS_HOME;
    else process.env.STEPOPS_HOME = previousHome;
    await rm(home, { recursive: true, force: true });
    await rm(hostDir, { recursive: true, force: true });
  });

  it('runs a rendered script in the host directory and reports success with exit code 0', async () => {
    // Prepare
    const runner = new BashCommandRunner();
    const script = renderScript({
      title: 'deploy demo v2',
      env: { REF: 'v2' },
      steps: [{ name: 'where', script: 'pwd; echo "ref=$STEPOPS_REF"', timeout: 10 }],
    });

    // Act
    const handle = await runner.send({
      hosts: [host],
      script,
      timeoutSeconds: 30,
      comment: 'deploy demo v2',
    });
    const [result] = await waitForEnd(runner, handle);

    // Assess
    expect(result).toMatchObject({ hostId: 'local:lab/app', state: 'succeeded', exitCode: 0 });
    expect(result?.outputTail).toContain(`${hostDir}\n`);
    expect(result?.outputTail).toContain('ref=v2');
    expect(result?.outputTail).toContain('==> step 1/1: where');
  });

  it('reports a failing step as failed with its exit code and the tail of stdout and stderr', async () => {
    // Prepare
    const runner = new BashCommandRunner();
    const script = renderScript({
      title: 'deploy demo v3',
      env: {},
      steps: [
        { name: 'build', script: 'echo building', timeout: 10 },
        { name: 'migrate', script: 'echo "migration 42 failed" >&2; exit 7', timeout: 10 },
        { name: 'restart', script: 'echo never', timeout: 10 },
      ],
    });

    // Act
    const handle = await runner.send({ hosts: [host], script, timeoutSeconds: 30, comment: 'deploy' });
    const [result] = await waitForEnd(runner, handle);

    // Assess
    expect(result?.state).toBe('failed');
    expect(result?.exitCode).toBe(7);
    expect(result?.outputTail).toContain('building');
    expect(result?.outputTail).toContain('migration 42 failed');
    expect(result?.outputTail).toContain('==> step 2/3: migrate failed with exit code 7');
    expect(result?.outputTail).not.toContain('never');
  });

  it('kills the whole process group at the timeout and reports timed-out', async () => {
    // Prepare
    const runner = new BashCommandRunner({ killGraceSeconds: 1 });
    const pidFile = path.join(hostDir, 'child.pid');
    const script = `sleep 300 & echo $! > ${pidFile}; echo started; wait`;

    // Act
    const handle = await runner.send({ hosts: [host], script, timeoutSeconds: 1, comment: 'hang' });
    const [result] = await waitForEnd(runner, handle);

    // Assess
    expect(result?.state).toBe('timed-out');
    expect(result?.exitCode).toBeUndefined();
    expect(result?.outputTail).toContain('started');
    const childPid = Number((await readFile(pidFile, 'utf8')).trim());
    for (let i = 0; i < 100 && isAlive(childPid); i++) await new Promise((r) => setTimeout(r, 50));
    expect(isAlive(childPid)).toBe(false);
  });

  it('survives its deadline timer firing after the state directory was removed', async () => {
    // Prepare
    const stateDir = await mkdtemp(path.join(tmpdir(), 'stepops-gone-'));
    const runner = new BashCommandRunner({ home: () => stateDir, killGraceSeconds: 1 });
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    let pid: number | undefined;
    try {
      // Act
      const handle = await runner.send({
        hosts: [host],
        script: 'sleep 30',
        timeoutSeconds: 1,
        comment: 'x',
      });
      const commandDir = path.join(stateDir, 'commands', handle.commandId);
      const metaName = (await readdir(commandDir)).find((name) => name.endsWith('.json')) ?? '';
      const meta = JSON.parse(await readFile(path.join(commandDir, metaName), 'utf8'));
      pid = meta.pid as number;
      await rm(stateDir, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 1_800));

      // Assess
      expect(rejections).toEqual([]);
    } finally {
      process.off('unhandledRejection', onRejection);
      if (pid !== undefined) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
      await rm(stateDir, { recursive: true, force: true });
    }
  });

  it('kills the steps of a rendered script too, which run under timeout in process groups of their own', async () => {
    // Prepare
    const runner = new BashCommandRunner({ killGraceSeconds: 1 });
    const pidFile = path.join(hostDir, 'step.pid');
    const script = renderScript({
      title: 'hang',
      env: {},
      steps: [{ name: 'hang', script: `echo $$ > ${pidFile}; sleep 300`, timeout: 600 }],
    });

    // Act
    const handle = await runner.send({ hosts: [host], script, timeoutSeconds: 1, comment: 'hang' });
    const [result] = await waitForEnd(runner, handle);

    // Assess
    expect(result?.state).toBe('timed-out');
    const stepPid = Number((await readFile(pidFile, 'utf8')).trim());
    for (let i = 0; i < 100 && isAlive(stepPid); i++) await new Promise((r) => setTimeout(r, 50));
    expect(isAlive(stepPid)).toBe(false);
  });

  it('leaves a server the script started in the background running after a normal end', async () => {
    // Prepare
    const runner = new BashCommandRunner();
    const pidFile = path.join(hostDir, 'server.pid');

    // Act
    const handle = await runner.send({
      hosts: [host],
      script: `nohup sleep 300 >/dev/null 2>&1 & echo $! > ${pidFile}`,
      timeoutSeconds: 30,
      comment: 'start',
    });
    const [result] = await waitForEnd(runner, handle);
    await runner.status(handle);

    // Assess
    const serverPid = Number((await readFile(pidFile, 'utf8')).trim());
    expect(result?.state).toBe('succeeded');
    expect(isAlive(serverPid)).toBe(true);
    process.kill(serverPid, 'SIGKILL');
  });

  it('passes the environment of the process and its own variables to the script', async () => {
    // Prepare
    const runner = new BashCommandRunner({ env: { STEPOPS_EXTRA: 'extra value' } });
    process.env.STEPOPS_TEST_INHERITED = 'inherited';
    const script = 'echo "[$STEPOPS_TEST_INHERITED] [$STEPOPS_EXTRA] [$STEPOPS_HOST] [$STEPOPS_COMMAND_ID]"';

    // Act
    const handle = await runner.send({ hosts: [host], script, timeoutSeconds: 30, comment: 'env' });
    const [result] = await waitForEnd(runner, handle);
    delete process.env.STEPOPS_TEST_INHERITED;

    // Assess
    expect(result?.outputTail).toContain(`[inherited] [extra value] [local:lab/app] [${handle.commandId}]`);
  });

  it('keeps hostile-looking output as inert text', async () => {
    // Prepare
    const runner = new BashCommandRunner();
    const marker = path.join(hostDir, 'pwned');
    const hostile = `$(touch ${marker}) \`touch ${marker}\` ; rm -rf / ' " \\ \u0000 \u001b[31m`;
    await writeFile(path.join(hostDir, 'hostile.txt'), hostile);

    // Act
    const handle = await runner.send({
      hosts: [host],
      script: 'cat hostile.txt; echo',
      timeoutSeconds: 30,
      comment: 'hostile',
    });
    const [result] = await waitForEnd(runner, handle);
    // Reading the status again must not evaluate anything either.
    await runner.status(handle);

    // Assess
    expect(result?.state).toBe('succeeded');
    expect(result?.outputTail).toContain(`$(touch ${marker})`);
    await expect(readFile(marker)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('keeps the output tail within the SSM limit, ending with the last lines', async () => {
    // Prepare
    const runner = new BashCommandRunner();
    const script = 'for i in $(seq 1 5000); do echo "line $i of some long output"; done; echo LAST LINE';

    // Act
    const handle = await runner.send({ hosts: [host], script, timeoutSeconds: 30, comment: 'long' });
    const [result] = await waitForEnd(runner, handle);

    // Assess
    expect(result?.outputTail.length).toBeLessThanOrEqual(OUTPUT_TAIL_LIMIT);
    expect(result?.outputTail).toMatch(/^\[… \d+ earlier characters cut\]\n/);
    expect(result?.outputTail.trimEnd().endsWith('LAST LINE')).toBe(true);
  });

  it('reads the status from files, so a new runner (another invocation) sees the same result', async () => {
    // Prepare
    const handle = await new BashCommandRunner().send({
      hosts: [host],
      script: 'echo from-first-runner; exit 3',
      timeoutSeconds: 30,
      comment: 'x',
    });

    // Act
    const [result] = await waitForEnd(new BashCommandRunner(), handle);

    // Assess
    expect(result).toMatchObject({ state: 'failed', exitCode: 3 });
    expect(result?.outputTail).toContain('from-first-runner');
    const log = await readFile(path.join(home, 'commands', handle.commandId, 'local_lab_app.log'), 'utf8');
    expect(log).toContain('from-first-runner');
    const exit = await readFile(path.join(home, 'commands', handle.commandId, 'local_lab_app.exit'), 'utf8');
    expect(exit.trim()).toBe('3');
  });

  it('reports a command it has no record of as failed, naming it', async () => {
    // Act
    const [result] = await new BashCommandRunner().status({ commandId: 'local-unknown', hosts: [host] });

    // Assess
    expect(result?.state).toBe('failed');
    expect(result?.outputTail).toContain('no record of command local-unknown');
  });

  it('fails the host when its directory does not exist', async () => {
    // Prepare
    const missing: HostRef = { kind: 'local', id: 'local:missing', directory: path.join(hostDir, 'nope') };

    // Act
    const runner = new BashCommandRunner();
    const handle = await runner.send({
      hosts: [missing],
      script: 'echo hi',
      timeoutSeconds: 30,
      comment: 'x',
    });
    const [result] = await waitForEnd(runner, handle);

    // Assess
    expect(result).toMatchObject({ state: 'failed', exitCode: 127 });
    expect(result?.outputTail).toContain('cannot start bash in');
  });

  it('refuses ec2 hosts', async () => {
    await expect(
      new BashCommandRunner().send({
        hosts: [{ kind: 'ec2', id: 'i-0123456789abcdef0', region: 'eu-west-1' }],
        script: 'true',
        timeoutSeconds: 10,
        comment: 'x',
      }),
    ).rejects.toThrow(/local hosts only/);
  });

  it('sends an idempotent command once: a second send with the same key returns the first command', async () => {
    // Prepare
    const runner = new BashCommandRunner();
    const script = renderScript({
      title: 'deploy demo v2',
      env: {},
      steps: [{ name: 'count', script: 'echo ran >> runs.txt', timeout: 10 }],
    });
    const request = {
      hosts: [host],
      script,
      timeoutSeconds: 10,
      comment: 'deploy demo v2',
      idempotency: { key: 'run-1/deploy/0', since: new Date().toISOString() },
    };

    // Act
    const first = await runner.send(request);
    const again = await runner.send(request);
    await waitForEnd(runner, first);
    const other = await runner.send({
      ...request,
      idempotency: { ...request.idempotency, key: 'run-1/deploy/1' },
    });
    await waitForEnd(runner, other);

    // Assess
    expect(again).toEqual(first);
    expect(other.commandId).not.toBe(first.commandId);
    expect(await readFile(path.join(hostDir, 'runs.txt'), 'utf8')).toBe('ran\nran\n');
    expect(await readdir(path.join(home, 'commands'))).toHaveLength(2);
  });
});
