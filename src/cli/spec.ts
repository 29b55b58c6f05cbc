import { LOG_LEVELS, PROTOCOLS } from '../config/types.js';

/** What completes an option's value: a file, a folder, one of a list, or nothing (free text). */
export type ValueKind = 'file' | 'dir' | 'text' | readonly string[];

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** For string options: what the shell completion offers. */
  value?: ValueKind;
}

export interface CommandSpec {
  /** One line for `help` and the README. */
  summary: string;
  options: Readonly<Record<string, OptionSpec>>;
  /** The one positional argument, for the few commands that take one. */
  argument?: { name: string; required: boolean; values?: readonly string[] };
}

const config: OptionSpec = { type: 'string', short: 'c', value: 'file' };
const logLevel: OptionSpec = { type: 'string', value: LOG_LEVELS };
const logFormat: OptionSpec = { type: 'string', value: ['auto', 'json', 'pretty'] };
const protocol: OptionSpec = { type: 'string', value: PROTOCOLS };
const json: OptionSpec = { type: 'boolean' };

export const SHELLS = ['bash', 'powershell'] as const;

/**
 * Every command and what it accepts: the one table behind parsing, `help`'s command list and
 * the completion scripts, so none of them can drift from the others.
 */
export const COMMANDS = {
  start: {
    summary: 'run the proxy (the default command)',
    options: { config, 'log-level': logLevel, 'log-format': logFormat, 'watch-config': { type: 'boolean' } },
  },
  demo: {
    summary: 'run the proxy against a local stand-in for Entra ID and Exchange Online',
    options: { 'log-level': logLevel, 'log-format': logFormat, 'port-base': { type: 'string', value: 'text' } },
  },
  'check-config': {
    summary: 'check a config file offline, binding no port (exit 0: it would start)',
    options: { config, json },
  },
  accounts: {
    summary: 'list the local accounts with their mailbox, app, protocols, SMTP path and sign-in',
    options: { config, json },
  },
  login: {
    summary: 'sign in as the person whose mailbox a delegated account opens, and store the sign-in',
    options: { config, browser: { type: 'boolean' } },
    argument: { name: 'account', required: true },
  },
  logout: {
    summary: 'remove the stored sign-in of a delegated account',
    options: { config },
    argument: { name: 'account', required: true },
  },
  'test-login': {
    summary: 'log in through the running proxy as an account, step by step',
    options: { config, protocol, port: { type: 'string', value: 'text' } },
    argument: { name: 'account', required: true },
  },
  doctor: {
    summary: 'check the app registration, its token and each account\'s Exchange login',
    options: { config, account: { type: 'string', value: 'text' }, protocol, json, 'send-test': { type: 'string', value: 'text' } },
  },
  'hash-password': {
    summary: 'make a passwordHash for an account (asks, or reads stdin)',
    options: {},
  },
  'gen-cert': {
    summary: 'write a self-signed certificate for the local TLS listeners',
    options: { out: { type: 'string', value: 'dir' }, host: { type: 'string', multiple: true, value: 'text' }, force: { type: 'boolean' }, group: { type: 'string', value: 'text' } },
  },
  completion: {
    summary: 'print a shell completion script: bash or powershell',
    options: {},
    argument: { name: 'shell', required: true, values: SHELLS },
  },
  help: {
    summary: 'help for a command: o365-mail-proxy help <command>',
    options: {},
    argument: { name: 'command', required: false },
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

export const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];

/** Accepted by every command. */
export const COMMON_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
};

export function isCommand(name: string): name is CommandName {
  return Object.hasOwn(COMMANDS, name);
}

/** A command's options, common ones included. */
export function optionsOf(command: CommandName): Readonly<Record<string, OptionSpec>> {
  return { ...(COMMANDS[command] as CommandSpec).options, ...COMMON_OPTIONS };
}
