// What the IMAP command handlers share: the connection, the logged-in mailbox and the
// selected folder. Handlers send untagged data themselves and return the tagged status text
// ("OK FETCH completed."), which the session sends after any pending untagged updates.
import type { Mailbox } from '../mail-store.js';
import type { Connection } from '../net/connection.js';
import type { ImapValue } from './parser.js';
import type { SelectedFolder } from './selected.js';

export interface SessionState {
  conn: Connection;
  mailbox: Mailbox;
  selected: SelectedFolder | undefined;
  /** Replaces the selected folder (undefined = deselect). */
  select(selected: SelectedFolder | undefined): void;
}

export type Handler = (state: SessionState, args: ImapValue[], uid: boolean) => Promise<string>;

export const ARGUMENT_ERROR = 'BAD Command Argument Error. 11';
export const FLAGS = ['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft', '$MDNSent'];
