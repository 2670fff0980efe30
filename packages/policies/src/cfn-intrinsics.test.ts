import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CfnEvaluationError, CfnEvaluator, NO_VALUE, type CfnTemplateParts } from './cfn-intrinsics.js';
import { CFN_YAML_TAGS } from './cfn-yaml-tags.js';

const TEMPLATE = `
Parameters:
  Env: {Type: String, Default: prod, AllowedValues: [prod, dev]}
  Names: {Type: CommaDelimitedList, Default: "a, b,c"}
  Bucket: {Type: String, AllowedPattern: "aws-waf-logs-[a-z-]+"}
  NoDefault: {Type: String}
Mappings:
  Sizes:
    prod: {Count: "3"}
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsDev: !Not [!Condition IsProd]
  Both: !And [!Condition IsProd, !Or [!Condition IsDev, !Equals [a, a]]]
  Loop: !Condition Loop
Resources:
  Group: {Type: AWS::WAFv2::RuleGroup}
`;

function evaluator(params: Record<string, string> = {}, resolve: Record<string, string> = {}) {
  return new CfnEvaluator(parse(TEMPLATE, { customTags: CFN_YAML_TAGS }) as CfnTemplateParts, { params, resolve });
}

/** Evaluates a YAML snippet written with the short forms. */
function run(snippet: string, params?: Record<string, string>, resolve?: Record<string, string>): unknown {
  return evaluator(params, resolve).evaluate(parse(snippet, { customTags: CFN_YAML_TAGS }), ['Value']);
}

function failure(snippet: string, params?: Record<string, string>, resolve?: Record<string, string>): { path: string; message: string } {
  try {
    run(snippet, params, resolve);
  } catch (error) {
    if (error instanceof CfnEvaluationError) return { path: error.path.join('/'), message: error.message };
    throw error;
  }
  throw new Error('expected the evaluation to fail');
}

describe('CfnEvaluator', () => {
  it('evaluates Sub with parameters, pseudo parameters, resource attributes, literals and variables', () => {
    const resolve = { 'Group.Arn': 'arn:aws:wafv2:eu-west-1:111122223333:regional/rulegroup/g/1' };
    expect(run('!Sub "${Env}-${AWS::Region}-${AWS::Partition} ${Group.Arn} ${!Literal} $${Env}"', { 'AWS::Region': 'cn-north-1' }, resolve)).toBe(
      'prod-cn-north-1-aws-cn arn:aws:wafv2:eu-west-1:111122223333:regional/rulegroup/g/1 ${Literal} $prod',
    );
    expect(run('!Sub ["${A}/${Env}", {A: !Select [1, !Ref Names]}]')).toBe('b/prod');
    expect(run('{"Fn::Sub": "${AWS::URLSuffix}"}', { 'AWS::Region': 'us-east-1' })).toBe('amazonaws.com');
  });

  it('evaluates Join, Select, Split and FindInMap, long and short forms alike', () => {
    expect(run('!Join ["-", [!Select [0, !Split [",", "x,y"]], !FindInMap [Sizes, !Ref Env, Count]]]')).toBe('x-3');
    expect(run('{"Fn::Join": [",", {"Ref": "Names"}]}')).toBe('a,b,c');
    expect(run('!Split ["|", "a||b"]')).toEqual(['a', '', 'b']);
  });

  it('evaluates conditions and Fn::If, with AWS::NoValue leaving the value out', () => {
    expect(run('[!If [IsProd, yes, no], !If [IsDev, kept, !Ref AWS::NoValue], last]')).toEqual(['yes', 'last']);
    expect(run('{a: !If [Both, !Ref AWS::NoValue, x], b: 1}')).toEqual({ b: 1 });
    expect(run('!If [IsProd, 1, 2]', { Env: 'dev' })).toBe(2);
    expect(run('!Ref AWS::NoValue')).toBe(NO_VALUE);
  });

  it('takes resource values from resolve: Ref by Logical or Logical.Ref, Fn::GetAtt by Logical.Attr', () => {
    expect(run('[!Ref Group, !GetAtt Group.Arn, {"Fn::GetAtt": [Group, Id]}]', {}, { Group: 'g-1', 'Group.Arn': 'arn', 'Group.Id': 'id' })).toEqual(['g-1', 'arn', 'id']);
    expect(run('!Ref Group', {}, { 'Group.Ref': 'g-2' })).toBe('g-2');
  });

  it('names what is missing and how to supply it', () => {
    expect(failure('!GetAtt Group.Arn')).toEqual({ path: 'Value/Fn::GetAtt', message: 'Group.Arn is only known once Group is deployed; pass --resolve Group.Arn=VALUE' });
    expect(failure('!Ref Group').message).toBe('Ref Group is a resource the template creates; pass --resolve Group=VALUE');
    expect(failure('!Sub "${Missing}"').message).toBe('Ref Missing is not a parameter, resource or pseudo parameter of the template');
    expect(failure('!Ref NoDefault').message).toBe('parameter NoDefault has no Default; pass --param NoDefault=VALUE');
    expect(failure('!Ref AWS::AccountId').message).toBe('AWS::AccountId has no value outside a stack; pass --param AWS::AccountId=VALUE');
    expect(failure('!Ref Env', { Env: 'test' }).message).toBe('parameter Env is "test", not one of its AllowedValues prod, dev');
    expect(failure('!Ref Bucket', { Bucket: 'logs' }).message).toBe('parameter Bucket is "logs", which does not match its AllowedPattern');
    expect(failure('!GetAtt Nothing.Arn').message).toBe('Fn::GetAtt Nothing.Arn: Nothing is not a resource of the template');
    expect(failure('!Select [5, [a]]').message).toBe('Fn::Select index 5 is outside a list of 1');
    expect(failure('!If [Loop, a, b]').message).toBe('condition Loop refers to itself');
    expect(failure('!If [Unknown, a, b]').message).toBe("condition Unknown is not defined in the template's Conditions");
    expect(failure('!ImportValue shared-arn')).toEqual({
      path: 'Value/Fn::ImportValue',
      message: 'Fn::ImportValue cannot be evaluated without deploying the template; replace it with a parameter',
    });
  });

  it('ends every template, however malformed, in a value or a CfnEvaluationError (property)', () => {
    const names = fc.constantFrom('Env', 'Names', 'Bucket', 'NoDefault', 'Group', 'IsProd', 'Loop', 'Sizes', 'prod', 'Count', 'AWS::NoValue', 'AWS::Region', 'constructor', '__proto__', 'toString');
    const functions = fc.constantFrom('Ref', 'Fn::Join', 'Fn::Select', 'Fn::Split', 'Fn::Sub', 'Fn::If', 'Fn::Equals', 'Fn::Not', 'Fn::And', 'Fn::Or', 'Fn::FindInMap', 'Fn::GetAtt', 'Fn::Base64', 'Fn::ToJsonString', 'Fn::Length', 'Fn::Cidr', 'Condition');
    const { node } = fc.letrec<{ node: unknown }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        names,
        fc.string({ maxLength: 12 }).map((text) => (text.length % 2 === 0 ? `\${${text}}` : text)),
        fc.integer({ min: -2, max: 5 }),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.tuple(functions, tie('node')).map(([name, argument]) => ({ [name]: argument })),
        fc.dictionary(names, tie('node'), { maxKeys: 3 }),
      ),
    }));
    fc.assert(
      fc.property(node, (value) => {
        try {
          evaluator({ Bucket: 'aws-waf-logs-x' }, { 'Group.Arn': 'arn' }).evaluate(value, ['Value']);
        } catch (error) {
          if (!(error instanceof CfnEvaluationError)) throw error;
        }
      }),
      { seed: 14, numRuns: 1500 },
    );
  });
});
