// A person in the directory: the stable key (docs/identity.md) and what people know them by.
export interface Person {
  /** The configured key claim of their tokens; what every other item stores. */
  key: string;
  /** The login name people type (Cognito username, preferred_username). */
  login: string;
  /** Display name, shown in mails and pages instead of the key. */
  name?: string;
  /** Where their mail goes; without it a mail to them is reported as undeliverable. */
  email?: string;
  department?: string;
  /** An inactive person is named by nobody new (approver periods, client users). */
  active: boolean;
  /** How many times the entry was written: each write is conditional on it. */
  revision: number;
  updatedAt: string;
  /** Who wrote it last: their own token, or an admin (by key). */
  updatedBy: string;
}
