/**
 * The host checks a target declares by kind rather than by script — systemd units active, Docker
 * containers running and healthy, disk and memory below a threshold — rendered as the command each
 * runs on the host. Each prints one last line with what it saw (`/data is 93% full (limit 90%)`)
 * and exits 0 when the condition holds, 1 when it does not; names are quoted by the one
 * shell-quoting helper.
 */
import type {
  CommandProbe,
  DiskProbe,
  DockerProbe,
  MemoryProbe,
  Probe,
  SystemdProbe,
} from '../config/schema.ts';
import { shellQuote } from '../shell/script.ts';

/** A host check declared by kind. */
export type HostCheckProbe = SystemdProbe | DockerProbe | DiskProbe | MemoryProbe;

/**
 * Whether a probe is a host check declared by kind.
 *
 * @example
 * isHostCheck({ name: 'units', type: 'systemd', units: ['nginx'], timeout: 15 }) // true
 */
export function isHostCheck(probe: Probe): probe is HostCheckProbe {
  return (
    probe.type === 'systemd' || probe.type === 'docker' || probe.type === 'disk' || probe.type === 'memory'
  );
}

function words(values: readonly string[]): string {
  return values.map(shellQuote).join(' ');
}

/**
 * The script of a systemd check: `systemctl is-active` for each unit.
 *
 * @example
 * systemdScript({ units: ['gunicorn.service', 'nginx'] })
 */
export function systemdScript(probe: Pick<SystemdProbe, 'units'>): string {
  return [
    "down=''",
    `for unit in ${words(probe.units)}; do`,
    '  state=$(systemctl is-active -- "$unit" 2>&1 || true)',
    "  state=${state%%$'\\n'*}",
    '  [ "$state" = active ] || down="${down:+$down, }$unit is ${state:-unknown}"',
    'done',
    'if [ -n "$down" ]; then echo "$down"; exit 1; fi',
    `echo ${shellQuote(`active: ${probe.units.join(', ')}`)}`,
  ].join('\n');
}

/**
 * The script of a Docker check: `docker inspect` of each container's state and health.
 *
 * @example
 * dockerScript({ containers: ['mongo', 'qdrant'], requireHealthy: true })
 */
export function dockerScript(probe: Pick<DockerProbe, 'containers' | 'requireHealthy'>): string {
  const format = '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}';
  return [
    "down=''",
    `for name in ${words(probe.containers)}; do`,
    `  if ! state=$(docker inspect --format ${shellQuote(format)} -- "$name" 2>/dev/null); then state='missing none'; fi`,
    '  status=${state%% *}',
    '  health=${state#* }',
    '  if [ "$status" != running ]; then',
    '    down="${down:+$down, }$name is $status"',
    `  elif [ "$health" = unhealthy ]${probe.requireHealthy ? ' || [ "$health" = starting ]' : ''}; then`,
    '    down="${down:+$down, }$name is $health"',
    '  fi',
    'done',
    'if [ -n "$down" ]; then echo "$down"; exit 1; fi',
    `echo ${shellQuote(`running: ${probe.containers.join(', ')}`)}`,
  ].join('\n');
}

/**
 * The script of a disk check: the used share of the mount's file system, from `df -P`.
 *
 * @example
 * diskScript({ mount: '/data', maxUsedPercent: 90 })
 */
export function diskScript(probe: Pick<DiskProbe, 'mount' | 'maxUsedPercent'>): string {
  const mount = shellQuote(probe.mount);
  return [
    `used=$(df -P -- ${mount} | awk 'NR == 2 { sub("%", "", $5); print $5 }')`,
    `case "$used" in ''|*[!0-9]*) echo ${shellQuote(`cannot read the usage of ${probe.mount}`)}; exit 1 ;; esac`,
    `echo ${shellQuote(`${probe.mount} is `)}"$used"${shellQuote(`% full (limit ${probe.maxUsedPercent}%)`)}`,
    `[ "$used" -le ${probe.maxUsedPercent} ]`,
  ].join('\n');
}

/**
 * The script of a memory check: total minus available memory, from `/proc/meminfo`.
 *
 * @example
 * memoryScript({ maxUsedPercent: 90 })
 */
export function memoryScript(probe: Pick<MemoryProbe, 'maxUsedPercent'>): string {
  return [
    "read -r total available < <(awk '/^MemTotal:/ { t = $2 } /^MemAvailable:/ { a = $2 } END { print t, a }' /proc/meminfo)",
    'if [ -z "${total:-}" ] || [ -z "${available:-}" ]; then echo \'cannot read /proc/meminfo\'; exit 1; fi',
    'used=$(( (total - available) * 100 / total ))',
    `echo "memory $used% used (limit ${probe.maxUsedPercent}%)"`,
    `[ "$used" -le ${probe.maxUsedPercent} ]`,
  ].join('\n');
}

/**
 * A host check as the command probe it runs: its script, exit code 0 expected.
 *
 * @example
 * asCommandProbe({ name: 'disk', type: 'disk', mount: '/', maxUsedPercent: 90, timeout: 15 }).script
 */
export function asCommandProbe(probe: HostCheckProbe): CommandProbe {
  const script =
    probe.type === 'systemd'
      ? systemdScript(probe)
      : probe.type === 'docker'
        ? dockerScript(probe)
        : probe.type === 'disk'
          ? diskScript(probe)
          : memoryScript(probe);
  return { name: probe.name, type: 'command', script, expectExitCode: 0, timeout: probe.timeout };
}

/**
 * What a host check checks, in one line.
 *
 * @example
 * describeHostCheck({ name: 'disk', type: 'disk', mount: '/', maxUsedPercent: 90, timeout: 15 }) // 'disk / at most 90% full (timeout 15 s)'
 */
export function describeHostCheck(probe: HostCheckProbe): string {
  switch (probe.type) {
    case 'systemd':
      return `systemd units active: ${probe.units.join(', ')} (timeout ${probe.timeout} s)`;
    case 'docker':
      return `Docker containers running${probe.requireHealthy ? ' and healthy' : ', not unhealthy'}: ${probe.containers.join(', ')} (timeout ${probe.timeout} s)`;
    case 'disk':
      return `disk ${probe.mount} at most ${probe.maxUsedPercent}% full (timeout ${probe.timeout} s)`;
    case 'memory':
      return `memory at most ${probe.maxUsedPercent}% used (timeout ${probe.timeout} s)`;
  }
}
