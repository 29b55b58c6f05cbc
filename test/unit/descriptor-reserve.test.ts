import { describe, expect, it } from 'vitest';
import { DescriptorReserve, ReserveWaitAborted } from '../../src/ops/descriptor-reserve.js';

describe('descriptor reserve', () => {
  it('hands out at most its size; the others wait their turn, in order, and a give-back counts once', async () => {
    const reserve = new DescriptorReserve(2);
    const first = await reserve.take();
    await reserve.take();
    expect(reserve.tryTake()).toBeUndefined();
    const order: string[] = [];
    const third = reserve.take().then((giveBack) => (order.push('third'), giveBack));
    const fourth = reserve.take().then((giveBack) => (order.push('fourth'), giveBack));
    await Promise.resolve();
    expect(order).toEqual([]);
    first();
    first();
    await third;
    expect(order).toEqual(['third']);
    expect(reserve.taken).toBe(2);
    (await third)();
    await fourth;
    expect(order).toEqual(['third', 'fourth']);
    // Someone waiting comes before a tryTake.
    void reserve.take();
    (await fourth)();
    expect(reserve.tryTake()).toBeUndefined();
  });

  it('lets a waiter go when its client leaves, and grows at once when resized', async () => {
    const reserve = new DescriptorReserve(1);
    await reserve.take();
    const leaving = new AbortController();
    const left = reserve.take(leaving.signal);
    const staying = reserve.take();
    leaving.abort();
    await expect(left).rejects.toBeInstanceOf(ReserveWaitAborted);
    reserve.size = 2;
    await staying;
    expect(reserve.taken).toBe(2);
    await expect(reserve.take(AbortSignal.abort())).rejects.toBeInstanceOf(ReserveWaitAborted);
  });

  it('is unbounded until the open-files budget sizes it', () => {
    const reserve = new DescriptorReserve();
    for (let i = 0; i < 10_000; i++) expect(reserve.tryTake()).toBeDefined();
  });
});
