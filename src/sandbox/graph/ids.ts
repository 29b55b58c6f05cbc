// Exchange item ids as Graph shows them: long base64 strings ("AAMkAGI2..."); the sandbox makes look-alikes.
import { randomBytes } from 'node:crypto';

export const newItemId = (): string => `AAMkAGSandbox${randomBytes(30).toString('base64url')}`;
