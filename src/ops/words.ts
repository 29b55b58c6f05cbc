/** "1 account", "2 accounts": a count with its noun in agreement (regular plurals, or the one given). */
export function counted(count: number, noun: string, plural = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : plural}`;
}
