/** One line of the checklist. */
export interface Finding {
  /** e.g. "config", "token contoso", "roles contoso", "login talend imap". */
  check: string;
  ok: boolean;
  summary: string;
  details?: string[];
  /** What to do, step by step (portal paths, PowerShell). */
  fix?: string[];
  /** Not run, and why: a check it depends on failed. Such a finding is not ok, but not a failure of its own. */
  skipped?: string;
}
