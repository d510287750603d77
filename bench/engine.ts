/** Placeholder until shared/engine and workflows/deploy.ts land. */
import type { EngineSection } from './report.ts';

export interface SectionOptions {
  quick: boolean;
  log: (line: string) => void;
}

/** @example await benchEngine({ quick: false, log: console.log }) */
export async function benchEngine(_options: SectionOptions): Promise<EngineSection> {
  throw new Error('shared/engine and workflows/deploy.ts are not in the repository yet');
}
