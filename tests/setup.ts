import 'aws-sdk-client-mock-vitest/extend';
import { TARGETS_DIR } from '../shared/config/load.ts';
import { discoverTargets } from '../shared/config/registry.ts';

// The registry knows the targets the CLI would find: this repository's examples in targets/.
await discoverTargets(TARGETS_DIR);
