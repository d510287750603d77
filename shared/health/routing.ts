/**
 * Which runbook a probe's failure requests: the probe's own `runbook`, else the runbook of the
 * group it is in, else the health section's `onFailure` default; `runbook: false` (or no default)
 * only alerts. Each runbook has its own cooldown and daily cap.
 */
import type { Health } from '../config/schema.ts';

/** A runbook's limits: minutes between two starts, starts a day (UTC). */
export interface RunbookLimits {
  cooldownMinutes: number;
  maxPerDay: number;
}

/** The probe → runbook mapping of a target, as the fold uses it. */
export interface RecoveryRoutes {
  /** The runbook of each probe that requests one (probes absent here only alert). */
  byProbe: Record<string, string>;
  limits: Record<string, RunbookLimits>;
}

const DEFAULT_LIMITS: RunbookLimits = { cooldownMinutes: 30, maxPerDay: 3 };

/**
 * The runbook each probe requests, and each runbook's limits.
 *
 * @example
 * recoveryRoutes(target.health).byProbe['queue-latency'] // 'restart-sidekiq'
 */
export function recoveryRoutes(health: Health): RecoveryRoutes {
  const groupOf = new Map<string, string>();
  for (const group of Object.values(health.groups ?? {})) {
    for (const probe of group.probes) groupOf.set(probe, group.runbook);
  }
  const byProbe: Record<string, string> = {};
  for (const probe of health.probes) {
    if (probe.runbook === false) continue;
    const runbook = probe.runbook ?? groupOf.get(probe.name) ?? health.onFailure?.runbook;
    if (runbook) byProbe[probe.name] = runbook;
  }
  const limits: Record<string, RunbookLimits> = {};
  for (const runbook of new Set(Object.values(byProbe))) {
    const own = health.runbooks?.[runbook];
    const fallback = health.onFailure?.runbook === runbook ? health.onFailure : DEFAULT_LIMITS;
    limits[runbook] = {
      cooldownMinutes: own?.cooldownMinutes ?? fallback.cooldownMinutes,
      maxPerDay: own?.maxPerDay ?? fallback.maxPerDay,
    };
  }
  return { byProbe, limits };
}
