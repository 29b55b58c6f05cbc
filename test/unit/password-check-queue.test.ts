import { describe, expect, it } from 'vitest';
import { PasswordCheckQueue, PasswordChecksBusyError } from '../../src/auth/password-check-queue.js';

/** A check that finishes when the test says so, recording when it started. */
function controlled(log: string[], name: string) {
  let finish!: () => void;
  const done = new Promise<string>((resolve) => (finish = () => resolve(name)));
  return { check: () => (log.push(name), done), finish };
}

describe('password check queue', () => {
  it('runs at most `concurrency` checks; the others wait their turn', async () => {
    const started: string[] = [];
    const queue = new PasswordCheckQueue(2, 10, 10);
    const jobs = ['a', 'b', 'c'].map((name) => controlled(started, name));
    const results = jobs.map((job) => queue.run('10.0.0.1', job.check));
    expect(started).toEqual(['a', 'b']);
    jobs[0]!.finish();
    await results[0];
    await Promise.resolve();
    expect(started).toEqual(['a', 'b', 'c']);
    jobs[1]!.finish();
    jobs[2]!.finish();
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c']);
  });

  it('serves addresses in turn, so a guesser with many checks waiting does not hold up another client', async () => {
    const started: string[] = [];
    const queue = new PasswordCheckQueue(1, 100, 50);
    const first = controlled(started, 'guess-0');
    const pending = [queue.run('10.0.0.66', first.check)];
    const guesses = Array.from({ length: 20 }, (_, i) => controlled(started, `guess-${i + 1}`));
    pending.push(...guesses.map((g) => queue.run('10.0.0.66', g.check)));
    const legit = controlled(started, 'legit');
    pending.push(queue.run('10.0.0.7', legit.check));
    first.finish();
    await pending[0];
    await Promise.resolve();
    guesses[0]!.finish();
    await pending[1];
    await Promise.resolve();
    // guess-1 had its turn; next comes the other address, not guess-2.
    expect(started).toEqual(['guess-0', 'guess-1', 'legit']);
    legit.finish();
    for (const g of guesses) g.finish();
    await Promise.all(pending);
  });

  it('refuses at once past the total or per-address bound', async () => {
    const queue = new PasswordCheckQueue(1, 3, 2);
    const never = () => new Promise<void>(() => {});
    void queue.run('a', never);
    void queue.run('a', never);
    void queue.run('a', never);
    await expect(queue.run('a', never)).rejects.toBeInstanceOf(PasswordChecksBusyError);
    void queue.run('b', never);
    await expect(queue.run('c', never)).rejects.toBeInstanceOf(PasswordChecksBusyError);
    expect(queue.queued).toBe(3);
  });
});
