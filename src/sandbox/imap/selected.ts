// A session's view of its selected folder. IMAP numbers messages by position in the view;
// the view only changes at points where the session may tell the client (untagged EXISTS /
// EXPUNGE), so changes made by other sessions or by SMTP delivery are folded in by sync().
import type { Folder, StoredMessage } from '../mail-store.js';

export class SelectedFolder {
  readonly view: StoredMessage[];
  #lastUid: number;
  readonly #unwatch: () => void;
  /** Called on every change to the folder; set while the session is in IDLE. */
  onChange: (() => void) | undefined;

  constructor(readonly folder: Folder, readonly readOnly: boolean) {
    this.view = [...folder.messages];
    this.#lastUid = folder.uidNext - 1;
    this.#unwatch = folder.watch(() => this.onChange?.());
  }

  get maxUid(): number {
    return this.view[this.view.length - 1]?.uid ?? 0;
  }

  /**
   * Untagged responses for changes made elsewhere: EXPUNGE (not allowed during FETCH, STORE
   * and SEARCH, RFC 3501 7.4.1) and EXISTS for new messages.
   */
  sync(allowExpunge: boolean): string {
    let out = '';
    if (allowExpunge) out += this.removeFromView((m) => m.expunged);
    const fresh = this.folder.messages.filter((m) => m.uid > this.#lastUid);
    if (fresh.length > 0) {
      this.view.push(...fresh);
      this.#lastUid = fresh[fresh.length - 1]!.uid;
      out += `* ${this.view.length} EXISTS\r\n`;
    }
    return out;
  }

  /** Drops messages from the view; EXPUNGE lines from the highest number down, so each stays valid. */
  removeFromView(which: (message: StoredMessage) => boolean): string {
    let out = '';
    for (let i = this.view.length - 1; i >= 0; i--) {
      if (which(this.view[i]!)) {
        out += `* ${i + 1} EXPUNGE\r\n`;
        this.view.splice(i, 1);
      }
    }
    return out;
  }

  close(): void {
    this.onChange = undefined;
    this.#unwatch();
  }
}
