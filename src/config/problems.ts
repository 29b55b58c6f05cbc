/** One thing wrong in a config file: the key that holds it, what is wrong, how to fix it. */
export interface ConfigProblem {
  key: string;
  problem: string;
  fix: string;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: ConfigProblem[], source: string) {
    super(
      `${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n` +
        problems.map((p) => `  - ${p.key}: ${p.problem}. Fix: ${p.fix}.`).join('\n'),
    );
  }
}
