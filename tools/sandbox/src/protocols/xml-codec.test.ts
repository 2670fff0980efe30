import { describe, expect, it } from 'vitest';
import { parseXml, XmlSyntaxError } from './xml-codec.js';

describe('parseXml', () => {
  it('reads elements, text, entities and CDATA, dropping namespaces, attributes and comments', () => {
    const root = parseXml(
      '<?xml version="1.0" encoding="UTF-8"?>\n<!-- a comment --><s3:Tagging xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/">' +
        '<TagSet><Tag a="1"><Key>k &amp; &lt;&#65;&#x1F600;&gt;</Key><Value><![CDATA[&lt;raw>]]></Value></Tag></TagSet></s3:Tagging>\n',
    );
    expect(root.name).toBe('Tagging');
    const tag = root.children[0]?.children[0];
    expect(tag?.children.map((c) => [c.name, c.text])).toEqual([['Key', 'k & <A\u{1F600}>'], ['Value', '&lt;raw>']]);
  });

  it('refuses a closing tag that does not match the open one', () => {
    expect(() => parseXml('<Delete><Object><Key>a</Key></Delete></Object>')).toThrow(XmlSyntaxError);
    expect(() => parseXml('<a><b>x</c></a>')).toThrow(/closing tag/);
  });

  it('refuses nesting past its bound without exhausting the stack, however deep the document', () => {
    expect(parseXml(`${'<a>'.repeat(32)}${'</a>'.repeat(32)}`).name).toBe('a');
    expect(() => parseXml(`${'<a>'.repeat(33)}${'</a>'.repeat(33)}`)).toThrow(XmlSyntaxError);
    expect(() => parseXml(`${'<a>'.repeat(200_000)}${'</a>'.repeat(200_000)}`)).toThrow(XmlSyntaxError);
    expect(() => parseXml('<a>'.repeat(200_000))).toThrow(XmlSyntaxError);
  });

  it('refuses a character reference to no XML character, and unknown or unterminated references', () => {
    for (const text of ['&#xFFFFFFFF;', '&#1114112;', '&#0;', '&#xD800;', '&#99999999999;', '&nbsp;', '&amp', '&#x;']) {
      expect(() => parseXml(`<a>${text}</a>`), text).toThrow(XmlSyntaxError);
    }
  });

  it('refuses several roots and content after the root', () => {
    expect(() => parseXml('<a></a><b></b>')).toThrow(XmlSyntaxError);
    expect(() => parseXml('<a/>junk')).toThrow(XmlSyntaxError);
    expect(() => parseXml('')).toThrow(XmlSyntaxError);
  });
});
