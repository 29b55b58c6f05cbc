// The Exchange side of the sandbox's state: mailboxes, their folders and messages, and who
// has FullAccess. One store is shared by the IMAP, POP3 and SMTP servers, so mail sent over
// SMTP shows up in IMAP and POP3. Messages are stored byte-exact and never copied.

export interface StoredMessage {
  readonly uid: number;
  readonly raw: Buffer;
  readonly flags: Set<string>;
  readonly internalDate: Date;
  /** Set once removed from its folder; sessions that still list it check this. */
  expunged: boolean;
}

type FolderListener = () => void;

export class Folder {
  readonly messages: StoredMessage[] = [];
  uidNext = 1;
  readonly #listeners = new Set<FolderListener>();

  constructor(public name: string, readonly uidValidity: number) {}

  append(raw: Buffer, flags: Iterable<string> = [], internalDate = new Date()): StoredMessage {
    const message: StoredMessage = { uid: this.uidNext++, raw, flags: new Set(flags), internalDate, expunged: false };
    this.messages.push(message);
    this.#notify();
    return message;
  }

  /** Removes the messages `which` selects; returns them in ascending UID order. */
  expunge(which: (message: StoredMessage) => boolean): StoredMessage[] {
    const removed: StoredMessage[] = [];
    for (let i = 0; i < this.messages.length; ) {
      const message = this.messages[i]!;
      if (which(message)) {
        message.expunged = true;
        removed.push(message);
        this.messages.splice(i, 1);
      } else i++;
    }
    if (removed.length > 0) this.#notify();
    return removed;
  }

  /** Calls `listener` after every append or expunge; returns the unsubscribe function. */
  watch(listener: FolderListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener();
      } catch {
        // one broken session must not stop delivery to the others
      }
    }
  }
}

/** Hierarchy delimiter, as Exchange uses it. */
export const DELIMITER = '/';

export class Mailbox {
  readonly #folders = new Map<string, Folder>();
  /** Object IDs of service principals with FullAccess. */
  readonly fullAccess = new Set<string>();
  /** Logged-in sessions now, per protocol (see exchange/limits.ts). */
  readonly sessions = { imap: 0, pop3: 0, smtp: 0 };
  /** Epoch ms until which logins get Exchange's throttling answer. */
  throttledUntil = 0;

  constructor(readonly address: string, private readonly nextUidValidity: () => number) {
    for (const name of ['INBOX', 'Sent Items', 'Archive']) this.createFolder(name);
  }

  /** INBOX is case-insensitive (RFC 3501); Exchange treats every folder name that way. */
  static key(name: string): string {
    return name.toLowerCase();
  }

  get inbox(): Folder {
    return this.#folders.get('inbox')!;
  }

  folder(name: string): Folder | undefined {
    return this.#folders.get(Mailbox.key(name));
  }

  folders(): Folder[] {
    return [...this.#folders.values()];
  }

  createFolder(name: string): Folder | undefined {
    if (this.#folders.has(Mailbox.key(name))) return undefined;
    const folder = new Folder(name, this.nextUidValidity());
    this.#folders.set(Mailbox.key(name), folder);
    return folder;
  }

  deleteFolder(name: string): boolean {
    const key = Mailbox.key(name);
    const folder = this.#folders.get(key);
    if (!folder || key === 'inbox') return false;
    folder.expunge(() => true);
    this.#folders.delete(key);
    return true;
  }

  renameFolder(from: string, to: string): boolean {
    const folder = this.#folders.get(Mailbox.key(from));
    if (!folder || Mailbox.key(from) === 'inbox' || this.#folders.has(Mailbox.key(to))) return false;
    this.#folders.delete(Mailbox.key(from));
    folder.name = to;
    this.#folders.set(Mailbox.key(to), folder);
    return true;
  }
}

export class MailStore {
  readonly #mailboxes = new Map<string, Mailbox>();
  // UIDVALIDITY values only need to differ between folders (and from a previous run).
  #uidValidity = Math.floor(Date.now() / 1000) % 1_000_000_000;

  add(address: string, messages: Buffer[] = []): Mailbox {
    let mailbox = this.get(address);
    if (!mailbox) {
      mailbox = new Mailbox(address, () => ++this.#uidValidity);
      this.#mailboxes.set(address.toLowerCase(), mailbox);
    }
    for (const raw of messages) mailbox.inbox.append(raw);
    return mailbox;
  }

  get(address: string): Mailbox | undefined {
    return this.#mailboxes.get(address.toLowerCase());
  }

  /** True when `address` is in a domain one of the mailboxes lives in (an "accepted domain"). */
  isLocalDomain(address: string): boolean {
    const domain = domainOf(address);
    if (!domain) return false;
    for (const key of this.#mailboxes.keys()) if (domainOf(key) === domain) return true;
    return false;
  }
}

function domainOf(address: string): string | undefined {
  const at = address.lastIndexOf('@');
  return at < 0 ? undefined : address.slice(at + 1).toLowerCase();
}
