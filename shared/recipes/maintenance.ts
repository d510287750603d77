/**
 * The maintenance recipes a target's `maintenance` jobs use, rendered to the host script each step
 * runs: certificate renewal, OS security updates, container hygiene and disk hygiene. Pure: every
 * value from the target file reaches the script through {@link shellQuote}.
 */
import type { Hosts, MaintenanceStep } from '../config/schema.ts';
import { shellQuote } from '../shell/script.ts';

/**
 * Exit code that asks the SSM agent to reboot the instance and run the command again once it is
 * back (AWS Systems Manager User Guide, "Handling reboots when running commands": `exit 194` on
 * Linux). The recipe is idempotent: the second run finds nothing to upgrade and no reboot required.
 */
export const SSM_REBOOT_EXIT = 194;

/**
 * How a recipe reaches root on the hosts: the run-as user's `sudo -n` (never a password prompt: a
 * missing sudoers rule fails the step, and `stepops check` lists the rules each recipe needs), or
 * nothing when the steps already run as root (`ec2` hosts whose `user` is root).
 */
export interface RecipeHost {
  /** `sudo -n ` before each root-only command, or empty. */
  asRoot: string;
  /** Where the step runs (an absolute path on ec2 hosts; the host's own directory for local ones). */
  workingDirectory?: string;
}

/**
 * The recipe host of a target's hosts; without hosts, a non-root user (every root-only command
 * through `sudo -n`).
 *
 * @example
 * recipeHost({ type: 'ec2', region: 'eu-west-1', tags: { App: 'x' }, user: 'ubuntu', workingDirectory: '/srv/app' }).asRoot // 'sudo -n '
 */
export function recipeHost(hosts?: Hosts): RecipeHost {
  if (hosts?.type === 'ec2') {
    return { asRoot: hosts.user === 'root' ? '' : 'sudo -n ', workingDirectory: hosts.workingDirectory };
  }
  return { asRoot: 'sudo -n ' };
}

/** The file certbot's deploy hook (run as root, once per renewed certificate) leaves for the step. */
export const RENEWED_MARKER = '.stepops-certbot-renewed';

/** The command that checks a web server's configuration before its reload. */
const CONFIG_TEST: Record<'nginx' | 'apache2' | 'httpd', string> = {
  nginx: 'nginx -t',
  apache2: 'apache2ctl configtest',
  httpd: 'apachectl configtest',
};

/**
 * `certbot renew`; its deploy hook marks a renewal (certbot runs it only for a certificate actually
 * renewed, and a failing hook does not fail certbot: so the reload happens here, where it fails the
 * step). The marker is a fixed path in the working directory, so that every root command is a fixed
 * command line a sudoers rule can name; it is removed only once the server reloaded, so that a run
 * whose reload failed reloads on the next run.
 */
function certbotRenew(step: Extract<MaintenanceStep, { type: 'certbot-renew' }>, host: RecipeHost): string {
  const renew = `${host.asRoot}certbot renew --non-interactive --no-random-sleep-on-renew`;
  if (step.reload === 'none')
    return `${renew}
echo "certificates renewed when due: no reload asked"`;
  const marker = shellQuote(
    host.workingDirectory ? `${host.workingDirectory.replace(/\/+$/, '')}/${RENEWED_MARKER}` : RENEWED_MARKER,
  );
  return `# shellcheck disable=SC1003 # the hook is a command line certbot runs in its own shell
${renew} --deploy-hook ${shellQuote(`touch -- ${marker}`)}
if [ -e ${marker} ]; then
  ${host.asRoot}${CONFIG_TEST[step.reload]}
  ${host.asRoot}systemctl reload ${shellQuote(step.reload)}
  ${host.asRoot}rm -f -- ${marker}
  echo "renewed: ${step.reload} reloaded"
else
  echo "no certificate was due: nothing reloaded"
fi`;
}

/** Security updates with apt or dnf; a reboot (through the SSM agent) only when the system asks. */
function osUpdates(step: Extract<MaintenanceStep, { type: 'os-updates' }>, host: RecipeHost): string {
  const upgrade =
    step.manager === 'apt'
      ? `${host.asRoot}apt-get update -q
# Security updates only: unattended-upgrade applies the -security origin (its default configuration);
# The frontend is set on the command line: a root command starts with a clean environment.
${host.asRoot}env DEBIAN_FRONTEND=noninteractive unattended-upgrade --verbose`
      : `${host.asRoot}dnf -y upgrade --security`;
  const required =
    step.manager === 'apt'
      ? 'test -e /var/run/reboot-required'
      : // needs-restarting -r exits 1 when a reboot is needed, 0 when not.
        '! needs-restarting -r > /dev/null';
  if (step.reboot === 'never') {
    return `${upgrade}
if ${required}; then echo "a reboot is required (reboot: never): left to the operator"; fi`;
  }
  return `${upgrade}
if ${required}; then
  echo "a reboot is required: the SSM agent reboots the instance and runs this step again"
  exit ${SSM_REBOOT_EXIT}
fi
echo "no reboot required"`;
}

/** Images and build cache older than the age filter; the images in use are kept. */
function dockerPrune(step: Extract<MaintenanceStep, { type: 'docker-prune' }>, host: RecipeHost): string {
  const until = shellQuote(`until=${step.olderThanHours}h`);
  return `df -h /var/lib/docker 2>/dev/null | tail -n 1 || true
${host.asRoot}docker image prune --all --force --filter ${until}
${step.system ? `${host.asRoot}docker system prune --all --force --filter ${until}\n` : ''}df -h /var/lib/docker 2>/dev/null | tail -n 1 || true`;
}

/** The documented images pulled again and the services recreated on them. */
function dockerPull(step: Extract<MaintenanceStep, { type: 'docker-pull' }>): string {
  const compose = `docker compose -f ${shellQuote(step.composeFile)}`;
  // Services built from the checkout keep their image: only the documented pulled images change.
  return `${compose} pull --ignore-buildable --quiet
${compose} up -d
${compose} ps`;
}

/**
 * Journal vacuum and old files under the given directories; with `dryRun`, only what would go is
 * printed.
 */
function diskCleanup(step: Extract<MaintenanceStep, { type: 'disk-cleanup' }>, host: RecipeHost): string {
  const lines: string[] = [`dry_run=${step.dryRun ? 'yes' : 'no'}`];
  if (step.journalMaxAgeDays !== undefined) {
    const age = shellQuote(`${step.journalMaxAgeDays}d`);
    lines.push(
      'if [ "$dry_run" = yes ]; then',
      `  echo "would vacuum the journal to ${step.journalMaxAgeDays} days: $(${host.asRoot}journalctl --disk-usage)"`,
      'else',
      `  ${host.asRoot}journalctl --vacuum-time=${age}`,
      'fi',
    );
  }
  for (const old of step.oldFiles) {
    const find = `find ${shellQuote(old.directory)} -mindepth 1 -maxdepth 1 -name ${shellQuote(old.pattern)} -mtime +${old.olderThanDays}`;
    lines.push(
      `if [ -d ${shellQuote(old.directory)} ]; then`,
      '  if [ "$dry_run" = yes ]; then',
      `    ${find} -print | sed 's/^/would delete: /'`,
      '  else',
      `    ${find} -print -exec rm -rf -- {} +`,
      '  fi',
      'fi',
    );
  }
  return lines.join('\n');
}

/**
 * The script one maintenance step runs on a target's hosts: each root-only command of a recipe
 * (certbot, the package manager, the web server's check and reload, docker's prunes, the journal's
 * vacuum) through `sudo -n` unless the hosts run the steps as root ({@link recipeHost}).
 *
 * @example
 * maintenanceScript({ type: 'certbot-renew', name: 'renew', reload: 'nginx', timeout: 600 }, target.hosts)
 * // 'sudo -n certbot renew … --deploy-hook … sudo -n systemctl reload nginx …'
 */
export function maintenanceScript(step: MaintenanceStep, hosts?: Hosts): string {
  const host = recipeHost(hosts);
  switch (step.type) {
    case 'script':
      return step.script;
    case 'certbot-renew':
      return certbotRenew(step, host);
    case 'os-updates':
      return osUpdates(step, host);
    case 'docker-prune':
      return dockerPrune(step, host);
    case 'docker-pull':
      return dockerPull(step);
    case 'disk-cleanup':
      return diskCleanup(step, host);
  }
}
