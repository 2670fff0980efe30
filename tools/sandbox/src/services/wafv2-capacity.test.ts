import { describe, expect, it } from 'vitest';
import { ServiceError } from '../service-error.js';
import { findManagedRuleGroup, rulesCapacity } from './wafv2-capacity.js';

const rule = (Statement: Record<string, unknown>) => ({ Name: 'r', Priority: 0, Statement, VisibilityConfig: {} });
const noGroups = () => undefined;
const lowercase = [{ Priority: 0, Type: 'LOWERCASE' }];
const none = [{ Priority: 0, Type: 'NONE' }];

describe('rulesCapacity', () => {
  it.each([
    ['an exact string match', { ByteMatchStatement: { PositionalConstraint: 'EXACTLY', FieldToMatch: { UriPath: {} }, TextTransformations: none } }, 2],
    ['a contains match with one transformation', { ByteMatchStatement: { PositionalConstraint: 'CONTAINS', FieldToMatch: { UriPath: {} }, TextTransformations: lowercase } }, 20],
    ['a regex pattern set on all query arguments', { RegexPatternSetReferenceStatement: { FieldToMatch: { AllQueryArguments: {} }, TextTransformations: none } }, 35],
    ['an SQLi match on the JSON body', { SqliMatchStatement: { FieldToMatch: { JsonBody: {} }, TextTransformations: none } }, 40],
    ['an XSS match', { XssMatchStatement: { FieldToMatch: { Body: {} }, TextTransformations: lowercase } }, 50],
    ['an IP set read from a forwarded header at any position', { IPSetReferenceStatement: { IPSetForwardedIPConfig: { Position: 'ANY' } } }, 5],
    ['a rate-based rule scoped down by country', { RateBasedStatement: { Limit: 100, ScopeDownStatement: { GeoMatchStatement: { CountryCodes: ['US'] } } } }, 3],
    ['an AND of a geo match and a NOT label match', { AndStatement: { Statements: [{ GeoMatchStatement: {} }, { NotStatement: { Statement: { LabelMatchStatement: {} } } }] } }, 2],
    ['an AWS managed rule group', { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesCommonRuleSet' } }, 700],
  ])('charges %s', (_what, statement, expected) => {
    expect(rulesCapacity([rule(statement)], noGroups)).toBe(expected);
  });

  it('sums the rules and takes an own rule group capacity by ARN', () => {
    const arn = 'arn:aws:wafv2:us-east-1:123456789012:regional/rulegroup/own/00000000-0000-4000-8000-000000000000';
    const rules = [
      rule({ RuleGroupReferenceStatement: { ARN: arn } }),
      rule({ ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesAmazonIpReputationList' } }),
    ];
    expect(rulesCapacity(rules, (a) => (a === arn ? 150 : undefined))).toBe(175);
  });

  it('refuses an unknown managed group and a rule group the account does not have', () => {
    const unknown = () => rulesCapacity([rule({ ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesNope' } })], noGroups);
    expect(unknown).toThrow(ServiceError);
    expect(unknown).toThrow(/AWS\/AWSManagedRulesNope/);
    expect(() => rulesCapacity([rule({ RuleGroupReferenceStatement: { ARN: 'arn:aws:wafv2:x' } })], noGroups)).toThrow(/couldn't find the rule group/);
  });
});

describe('findManagedRuleGroup', () => {
  it('knows the versions of versioned groups and none for the IP reputation lists', () => {
    const common = findManagedRuleGroup('AWS', 'AWSManagedRulesCommonRuleSet');
    expect(common.versions).toContain(common.defaultVersion);
    expect(findManagedRuleGroup('AWS', 'AWSManagedRulesAmazonIpReputationList').versions).toEqual([]);
  });
});
