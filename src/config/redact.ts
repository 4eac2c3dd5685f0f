/**
 * URLs fit for messages and logs.
 */

/** A URL with its password replaced by ***. */
export function redactUrl(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:)[^@/\s]*@/i, '$1***@');
}
