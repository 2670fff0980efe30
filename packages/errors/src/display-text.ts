/**
 * Text from input (findings, Detective, flow logs, AWS names, file names) as error messages and
 * reports show it: in a terminal, a Markdown report, an HTML page. Whoever wrote the text must not
 * move the cursor, recolour or clear a terminal (ANSI escapes, CR), hide characters (NUL,
 * bidirectional overrides), or add links, images or HTML to a report.
 */

/** C0 controls but tab and line feed, DEL, C1 controls, and the bidirectional embeddings, overrides and isolates. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069]/g;

/**
 * The text with every control character written out as a visible escape (`\x1b`, `\r`,
 * `\u202e`); line feeds are kept, or with `oneLine` shown as a space, like tabs.
 */
export function printable(text: string, options: { oneLine?: boolean } = {}): string {
  const shown = text.replace(CONTROL, (c) => {
    if (c === '\r') return '\\r';
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
  return options.oneLine ? shown.replace(/[\n\t]/g, ' ') : shown;
}

/**
 * The text as literal Markdown on one line: printable, HTML's `& < >` as entities (so no tag
 * or comment reaches a renderer that allows HTML), and the characters that make emphasis, code,
 * links, images, strikethrough and table cells (`\ ` * _ [ ] ! ~ |`) backslash-escaped.
 */
export function markdownText(text: string): string {
  return printable(text, { oneLine: true })
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]!~|]/g, (c) => `\\${c}`);
}

/** The text for HTML element content or a quoted attribute: printable, with `& < > " '` as entities. */
export function htmlText(text: string): string {
  return printable(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
