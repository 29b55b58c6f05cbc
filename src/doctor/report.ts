import { counted } from '../ops/words.js';
import type { Finding } from './run.js';

const GREEN = '\u001b[32m';
const RED = '\u001b[31m';
const DIM = '\u001b[2m';
const RESET = '\u001b[0m';

/** The checklist for people: ✓/✗ per check, details and fixes indented; colours only on a terminal. */
export function renderChecklist(findings: Finding[], colour: boolean): string {
  const paint = (code: string, text: string) => (colour ? `${code}${text}${RESET}` : text);
  const lines: string[] = [];
  for (const finding of findings) {
    const mark = finding.ok ? paint(GREEN, '✓') : finding.skipped ? paint(DIM, '–') : paint(RED, '✗');
    lines.push(`${mark} ${finding.check}: ${finding.summary}`);
    for (const detail of finding.details ?? []) lines.push(paint(DIM, `    ${detail}`));
    if (finding.fix?.length) {
      lines.push('    fix:');
      for (const step of finding.fix) lines.push(`      ${step}`);
    }
  }
  const failed = findings.filter((f) => !f.ok && !f.skipped).length;
  const skipped = findings.filter((f) => f.skipped).length;
  const total = counted(findings.length, 'check');
  lines.push('', failed === 0 ? paint(GREEN, `all ${total} passed`) : paint(RED, `${failed} of ${total} failed${skipped ? `, ${skipped} skipped` : ''}`));
  return `${lines.join('\n')}\n`;
}

export function renderJson(findings: Finding[]): string {
  return `${JSON.stringify({ ok: findings.every((f) => f.ok), findings }, null, 2)}\n`;
}
