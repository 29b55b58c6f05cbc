/**
 * Options for vi.waitFor in tests over real sockets: its default (1 s) is short on a machine
 * where other test files run at the same time; a condition that holds returns at once anyway.
 */
export const PATIENCE = { timeout: 5_000, interval: 20 } as const;
