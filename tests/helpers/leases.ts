/**
 * A lease store in which every run holds what it asks for: for step tests about something else
 * than the lease (two runs at once are the lease tests' subject).
 */
import type { LeaseStore } from '../../shared/drivers/ports.ts';

/** Grants every acquire and renewal; releases and holders are no-ops. */
export const grantedLeases: LeaseStore = {
  acquire: async () => ({ acquired: true }),
  release: async () => undefined,
  holder: async () => undefined,
};
