import { Pair, Scalar, YAMLMap, type CollectionTag, type ScalarTag, type YAMLSeq } from 'yaml';

/**
 * CloudFormation's YAML short forms (`!Ref X`, `!Sub '...'`, `!GetAtt A.B`, ...) as `yaml`
 * custom tags, each turned into its long form (`{Ref: X}`, `{"Fn::Sub": ...}`) so the rest of
 * the import sees one shape. Every short form CloudFormation defines is registered, so any
 * template parses; which ones can be evaluated is the evaluator's business.
 */
const FUNCTIONS = [
  'Base64', 'Cidr', 'FindInMap', 'GetAtt', 'GetAZs', 'ImportValue', 'Join', 'Select', 'Split', 'Sub', 'Transform',
  'If', 'Equals', 'Not', 'And', 'Or', 'Length', 'ToJsonString',
] as const;

function longForm(name: string, value: unknown): YAMLMap {
  const map = new YAMLMap();
  map.items.push(new Pair(new Scalar(name), value));
  return map;
}

function tagsFor(tag: string, name: string, scalar: (text: string) => unknown = (text) => text): (ScalarTag | CollectionTag)[] {
  return [
    // A scalar tag's result becomes the scalar's value, so it is the plain long form.
    { tag, resolve: (text: string) => ({ [name]: scalar(text) }) } as ScalarTag,
    // A collection tag's result replaces the node, so nested tags and positions stay nodes.
    { tag, collection: 'seq', resolve: (seq: YAMLSeq) => longForm(name, seq) } as CollectionTag,
    { tag, collection: 'map', resolve: (map: YAMLMap) => longForm(name, map) } as CollectionTag,
  ];
}

export const CFN_YAML_TAGS: (ScalarTag | CollectionTag)[] = [
  ...tagsFor('!Ref', 'Ref'),
  ...tagsFor('!Condition', 'Condition'),
  ...FUNCTIONS.flatMap((name) =>
    // `!GetAtt Resource.Attribute` is the long form's [Resource, Attribute].
    name === 'GetAtt'
      ? tagsFor('!GetAtt', 'Fn::GetAtt', (text) => {
          const dot = text.indexOf('.');
          return dot < 0 ? text : [text.slice(0, dot), text.slice(dot + 1)];
        })
      : tagsFor(`!${name}`, `Fn::${name}`),
  ),
];
