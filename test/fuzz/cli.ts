/**
 * npm run fuzz [-- --seed N --count N --protocol imap,pop3,smtp --parallel N --only I,J]
 *
 * Long fuzz runs against the built proxy (dist/cli.js) in its own process. Prints the seed
 * first, a progress line every 5 s, and a summary; exits 1 when anything failed. A failing
 * connection is replayed alone with --seed S --protocol P --only I (--show prints its script).
 */
import { parseArgs } from 'node:util';
import { generateScript } from './generate/index.js';
import { describeScript, PROTOCOLS, type Protocol } from './generate/script.js';
import { CREDENTIALS } from './drive/proxy.js';
import { DEFAULT_TIMEOUTS, runFuzz, type FuzzOptions } from './fuzz.js';
import { formatSummary } from './summary.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    count: { type: 'string', default: '1000000' },
    protocol: { type: 'string', default: PROTOCOLS.join(',') },
    parallel: { type: 'string', default: '128' },
    'heavy-every': { type: 'string', default: '500' },
    addresses: { type: 'string', default: '8' },
    'max-rss-mib': { type: 'string', default: '256' },
    'max-growth-mib': { type: 'string', default: '64' },
    'answer-ms': { type: 'string', default: String(DEFAULT_TIMEOUTS.answerMs) },
    'close-ms': { type: 'string', default: String(DEFAULT_TIMEOUTS.closeMs) },
    only: { type: 'string' },
    show: { type: 'boolean', default: false },
    shrink: { type: 'boolean', default: false },
    config: { type: 'string' },
    'log-file': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

if (values.help) {
  process.stdout.write(`npm run fuzz -- [--seed N] [--count INPUTS_PER_PROTOCOL] [--protocol imap,pop3,smtp] [--parallel N]
  [--heavy-every N] [--addresses N] [--max-rss-mib N] [--max-growth-mib N] [--answer-ms N] [--close-ms N]
  [--config '{"clients":{...}}'] [--log-file FILE] [--shrink] [--only I,J [--show]]\n`);
  process.exit(0);
}

const int = (name: string, text: string | undefined) => {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} must be a whole number, not ${text}`);
  return value;
};
const protocols = values.protocol!.split(',').map((p) => p.trim()) as Protocol[];
for (const p of protocols) if (!PROTOCOLS.includes(p)) throw new Error(`--protocol: unknown protocol ${p}`);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : int('seed', values.seed);
const only = values.only?.split(',').map((i) => int('only', i));
const options: FuzzOptions = {
  seed,
  count: int('count', values.count),
  protocols,
  parallel: int('parallel', values.parallel),
  heavyEvery: int('heavy-every', values['heavy-every']),
  addresses: Math.min(250, Math.max(1, int('addresses', values.addresses))),
  maxRssMiB: int('max-rss-mib', values['max-rss-mib']),
  maxGrowthMiB: int('max-growth-mib', values['max-growth-mib']),
  timeouts: { ...DEFAULT_TIMEOUTS, answerMs: int('answer-ms', values['answer-ms']), closeMs: int('close-ms', values['close-ms']) },
  ...(only ? { only } : {}),
  ...(values.config ? { configOverrides: JSON.parse(values.config) as Record<string, unknown> } : {}),
  ...(values['log-file'] ? { logFile: values['log-file'] } : {}),
  shrink: values.shrink!,
  onProgress: (protocol, inputs, rss, files) => process.stderr.write(`  ${protocol}: ${inputs.toLocaleString('en-US')} inputs, proxy RSS ${rss.toFixed(0)} MiB, ${files ?? '?'} open files\n`),
};

if (values.show) {
  for (const protocol of protocols) for (const index of only ?? [0]) process.stdout.write(`${describeScript(generateScript(protocol, index, { seed, creds: CREDENTIALS, heavyEvery: options.heavyEvery }), seed)}\n`);
  process.exit(0);
}
process.stdout.write(`fuzz seed ${seed}: ${only ? `connections ${only.join(', ')}` : `${options.count.toLocaleString('en-US')} inputs`} per protocol (${protocols.join(', ')}), ${options.parallel} connections at a time\n`);
// Exit through 'exit' handlers on a signal, so the proxy process goes too.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
const summary = await runFuzz(options);
process.stdout.write(`${formatSummary(summary)}\n`);
process.exit(summary.ok ? 0 : 1);
