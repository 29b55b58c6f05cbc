#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError } from './config/validate.js';
import { LOG_LEVELS, PROTOCOLS, type LogLevel, type Protocol } from './config/types.js';
import { doctorCommand, genCertCommand, hashPasswordCommand, startCommand, UsageError, type LogFlags } from './cli/commands.js';
import { HELP } from './cli/help.js';

const COMMANDS = ['start', 'demo', 'doctor', 'hash-password', 'gen-cert'] as const;

async function main(argv: string[]): Promise<void> {
  const first = argv[0];
  const command = first && !first.startsWith('-') ? first : 'start';
  const rest = first && !first.startsWith('-') ? argv.slice(1) : argv;
  if (!(COMMANDS as readonly string[]).includes(command)) throw new UsageError(`unknown command "${command}"\n\n${HELP.main}`);

  const { values } = parseArgs({
    args: rest,
    strict: true,
    options: {
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
      config: { type: 'string', short: 'c' },
      'log-level': { type: 'string' },
      'log-format': { type: 'string' },
      out: { type: 'string' },
      host: { type: 'string', multiple: true },
      force: { type: 'boolean' },
      group: { type: 'string' },
      'port-base': { type: 'string' },
      account: { type: 'string' },
      protocol: { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (values.version) return void process.stdout.write(`${version()}\n`);
  if (values.help) return void process.stdout.write(first && !first.startsWith('-') ? HELP[command]! : HELP.main!);

  switch (command) {
    case 'start':
      return startCommand(values.config ?? 'config.json', logFlags(values));
    case 'demo': {
      // Loaded on demand: the sandbox is not needed to run the proxy.
      const { demoCommand } = await import('./cli/demo.js');
      return demoCommand(logFlags(values), values['port-base']);
    }
    case 'doctor': {
      const protocol = values.protocol;
      if (protocol !== undefined && !(PROTOCOLS as readonly string[]).includes(protocol)) throw new UsageError('--protocol must be imap, pop3 or smtp');
      process.exitCode = await doctorCommand({
        configPath: values.config ?? 'config.json',
        ...(values.account ? { account: values.account } : {}),
        ...(protocol ? { protocol: protocol as Protocol } : {}),
      }, values.json ?? false);
      return;
    }
    case 'hash-password':
      return hashPasswordCommand();
    case 'gen-cert':
      return genCertCommand(values.out ?? 'certs', values.host ?? [], values.force ?? false, values.group);
  }
}

function logFlags(values: { 'log-level'?: string; 'log-format'?: string }): LogFlags {
  const level = values['log-level'];
  const format = values['log-format'];
  if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  if (format !== undefined && !['auto', 'json', 'pretty'].includes(format)) throw new UsageError('--log-format must be auto, json or pretty');
  return { ...(level ? { level: level as LogLevel } : {}), ...(format ? { format: format as LogFlags['format'] & string } : {}) };
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof UsageError) {
    process.stderr.write(`o365-mail-proxy: ${error.message}\n`);
    process.exit(2);
  }
  const code = (error as { code?: string }).code;
  process.stderr.write(`o365-mail-proxy: ${(error as Error).message ?? String(error)}\n`);
  process.exit(code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' ? 2 : 1);
});
