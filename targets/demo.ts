/**
 * Placeholder for the demo target (a `local` host for the lab); the engineer writing the lab
 * replaces this file.
 */
import { defineTarget } from '../shared/config/schema.ts';

export default defineTarget({
  name: 'demo',
  description: 'The lab: a sample app on a local host directory',
  hosts: { type: 'local', directory: '.stepops/demo/host' },
  deploy: {
    steps: [
      {
        name: 'record-release',
        script: `printf '%s\\n' "$STEPOPS_REF" > release.next
mv release.next release`,
        timeout: 30,
      },
    ],
    rollback: [{ name: 'clear-release', script: 'rm -f release', timeout: 30 }],
    healthGate: { probes: ['release-present'], timeout: 30 },
  },
  health: {
    schedule: 'rate(1 minute)',
    probes: [{ name: 'release-present', type: 'command', script: 'test -s release', timeout: 10 }],
  },
});
