import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { htmlText, markdownText, printable } from './display-text.js';

/** C0, DEL, C1 and the bidirectional controls, by code point (no control characters in a regular expression). */
function isControl(c: string): boolean {
  const code = c.codePointAt(0)!;
  return code < 0x20 || (code >= 0x7f && code <= 0x9f) || (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069);
}

const HOSTILE = 'a|b `code` [click](https://evil.example) ![x](y) <img src=x onerror=alert(1)> \x1b[2J\x1b]0;owned\x07 nul\0 cr\rlf\n rtl\u202etxt.exe ~~gone~~ *bold* _i_ \\';

describe('printable', () => {
  it('shows every control character as an escape, keeping line feeds and tabs unless one line is asked for', () => {
    expect(printable('red \x1b[31mtext\x1b[0m\r\nnext\0\u202e\x7f\x9b')).toBe('red \\x1b[31mtext\\x1b[0m\\r\nnext\\x00\\u202e\\x7f\\x9b');
    expect(printable('a\nb\tc', { oneLine: true })).toBe('a b c');
  });

  it('leaves no control character in any text (property)', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => {
      expect([...printable(text, { oneLine: true })].filter((c) => isControl(c))).toEqual([]);
    }));
  });
});

describe('markdownText', () => {
  it('keeps hostile text literal on one line: no link, image, code, HTML, table cell or terminal escape', () => {
    const md = markdownText(HOSTILE);
    expect(md).toBe(
      'a\\|b \\`code\\` \\[click\\](https://evil.example) \\!\\[x\\](y) &lt;img src=x onerror=alert(1)&gt; \\\\x1b\\[2J\\\\x1b\\]0;owned\\\\x07 nul\\\\x00 cr\\\\rlf  rtl\\\\u202etxt.exe \\~\\~gone\\~\\~ \\*bold\\* \\_i\\_ \\\\',
    );
    expect([...md].filter((c) => isControl(c) || c === '<' || c === '>')).toEqual([]);
  });
});

describe('htmlText', () => {
  it('escapes markup and shows control characters', () => {
    expect(htmlText('<img src=x onerror="a()">\x1b\'')).toBe('&lt;img src=x onerror=&quot;a()&quot;&gt;\\x1b&#39;');
  });
});
