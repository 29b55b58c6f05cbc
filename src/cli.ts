#!/usr/bin/env node
import cluster from 'node:cluster';
import { ConfigError } from './config/validate.js';
import type { LogLevel, Protocol } from './config/types.js';
import { doctorCommand, genCertCommand, hashPasswordCommand, startCommand, type LogFlags } from './cli/commands.js';
import { HELP, mainHelp } from './cli/help.js';
import { flag, listOption, parseCommandLine, stringOption, type CommandLine, type OptionValues } from './cli/parse.js';
import { isCommand } from './cli/spec.js';
import { UsageError } from './cli/usage-error.js';
import { version } from './cli/version.js';

async function main(argv: string[]): Promise<void> {
  const line = parseCommandLine(argv);
  const { command, values } = line;
  if (values.version) return void process.stdout.write(`${version()}\n`);
  if (values.help) return void process.stdout.write(line.named ? HELP[command] : mainHelp());
  const configPath = stringOption(values, 'config') ?? 'config.json';

  switch (command) {
    case 'start':
      return startCommand(configPath, { ...logFlags(values), watchConfig: flag(values, 'watch-config') });
    case 'demo': {
      // Loaded on demand: the sandbox is not needed to run the proxy.
      const { demoCommand } = await import('./cli/demo.js');
      return demoCommand(logFlags(values), stringOption(values, 'port-base'));
    }
    case 'check-config': {
      const { checkConfigCommand } = await import('./cli/check-config.js');
      process.exitCode = await checkConfigCommand(configPath, flag(values, 'json'));
      return;
    }
    case 'accounts': {
      const { accountsCommand } = await import('./cli/accounts.js');
      return accountsCommand(configPath, flag(values, 'json'));
    }
    case 'login': {
      const { loginCommand } = await import('./cli/login.js');
      process.exitCode = await loginCommand(configPath, line.argument!, flag(values, 'browser'));
      return;
    }
    case 'logout': {
      const { logoutCommand } = await import('./cli/login.js');
      return logoutCommand(configPath, line.argument!);
    }
    case 'test-login': {
      const { testLoginCommand } = await import('./cli/test-login.js');
      process.exitCode = await testLoginCommand(configPath, line.argument!, loginFilter(values));
      return;
    }
    case 'doctor': {
      const account = stringOption(values, 'account');
      const protocol = stringOption(values, 'protocol') as Protocol | undefined;
      const sendTest = stringOption(values, 'send-test');
      process.exitCode = await doctorCommand({ configPath, ...(account ? { account } : {}), ...(protocol ? { protocol } : {}), ...(sendTest ? { sendTest } : {}) }, flag(values, 'json'));
      return;
    }
    case 'hash-password':
      return hashPasswordCommand();
    case 'gen-cert':
      return genCertCommand(stringOption(values, 'out') ?? 'certs', listOption(values, 'host'), flag(values, 'force'), stringOption(values, 'group'));
    case 'completion': {
      const { completionScript } = await import('./cli/completion.js');
      return void process.stdout.write(completionScript(line.argument as 'bash' | 'powershell'));
    }
    case 'help':
      return void process.stdout.write(helpFor(line));
  }
}

function helpFor(line: CommandLine): string {
  const topic = line.argument;
  if (topic === undefined) return mainHelp();
  if (!isCommand(topic)) throw new UsageError(`no command "${topic}" (o365-mail-proxy help lists the commands)`);
  return HELP[topic];
}

/** The parser checked the values against their lists (spec.ts). */
function logFlags(values: OptionValues): LogFlags {
  const level = stringOption(values, 'log-level') as LogLevel | undefined;
  const format = stringOption(values, 'log-format') as LogFlags['format'];
  return { ...(level ? { level } : {}), ...(format ? { format } : {}) };
}

function loginFilter(values: OptionValues): { protocol?: Protocol; port?: number } {
  const protocol = stringOption(values, 'protocol') as Protocol | undefined;
  const port = stringOption(values, 'port');
  if (port !== undefined && !/^\d{1,5}$/.test(port)) throw new UsageError(`--port must be a port number, got "${port}"`);
  return { ...(protocol ? { protocol } : {}), ...(port ? { port: Number(port) } : {}) };
}

/**
 * The command line without node and the script. A worker of a single executable gets the
 * executable's path once more in front: node:cluster starts a worker as `<node> <argv[1]> ...`,
 * and in a single executable argv[1] is the executable itself.
 */
function commandLine(): string[] {
  const args = process.argv.slice(2);
  return cluster.isWorker && args[0] === process.execPath ? args.slice(1) : args;
}

main(commandLine()).catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof UsageError) {
    process.stderr.write(`o365-mail-proxy: ${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`o365-mail-proxy: ${(error as Error).message ?? String(error)}\n`);
  process.exit(1);
});
