import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { ConfigError, validateConfig } from '../../src/config/validate.js';
import { minimalConfig, tempDir } from '../helpers/config.js';

function problems(raw: unknown): string[] {
  try {
    validateConfig(raw, tempDir());
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => `${p.key}: ${p.problem} (${p.fix})`);
    throw error;
  }
  return [];
}

describe('the workers key', () => {
  it('is 1 when left out: one process, as before', () => {
    expect(validateConfig(minimalConfig(), tempDir()).workers).toBe(1);
  });

  it('takes a number, or "auto" for one worker per core', () => {
    expect(validateConfig(minimalConfig({ workers: 3 }), tempDir()).workers).toBe(3);
    expect(validateConfig(minimalConfig({ workers: 'auto' }), tempDir()).workers).toBe(availableParallelism());
  });

  it('refuses anything else, naming the key and what it takes', () => {
    for (const bad of [0, 1.5, 'two', -1]) {
      const found = problems(minimalConfig({ workers: bad }));
      expect(found).toHaveLength(1);
      expect(found[0]).toMatch(/^workers: must be a whole number of at least 1, or "auto"/);
    }
  });
});
