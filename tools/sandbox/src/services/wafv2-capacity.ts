import { ServiceError } from '../service-error.js';

/**
 * Web ACL capacity units (WCU), as CheckCapacity computes them.
 *
 * Managed rule groups: the capacities and versions of the AWS Managed Rules groups from the WAF
 * Developer Guide ("AWS Managed Rules rule groups list": VendorName AWS, Name, WCU). The version
 * lists are representative of what ListAvailableManagedRuleGroupVersions returns (the guide's
 * changelog names them); groups marked unversioned are the IP reputation lists AWS updates in
 * place.
 *
 * Rule statements: the costs of the guide's rule statement tables (match statements: string
 * match 2 for EXACTLY/STARTS_WITH/ENDS_WITH and 10 for CONTAINS/CONTAINS_WORD, regex 3, regex
 * pattern set 25, size 1, SQLi 20 (30 at HIGH sensitivity), XSS 40, geo, IP set, label and ASN 1;
 * +10 per text transformation other than NONE, +10 for all query arguments, the base doubled
 * for a JSON body, +4 for an IP set read from a forwarded header at position ANY; rate-based 2
 * plus its scope-down; logical statements the sum of what they nest). The guide counts a text
 * transformation once per web ACL where this charges each use, so a web ACL that repeats one
 * costs a little more here than in AWS.
 */
export interface ManagedRuleGroup {
  vendorName: string;
  name: string;
  capacity: number;
  description: string;
  /** Oldest first; empty when the vendor does not version the group. */
  versions: string[];
  defaultVersion?: string;
}

const versions = (count: number, major = 1) => Array.from({ length: count }, (_, i) => `Version_${major}.${i}`);

export const MANAGED_RULE_GROUPS: readonly ManagedRuleGroup[] = [
  { vendorName: 'AWS', name: 'AWSManagedRulesCommonRuleSet', capacity: 700, description: 'Contains rules that are generally applicable to web applications.', versions: versions(15), defaultVersion: 'Version_1.14' },
  { vendorName: 'AWS', name: 'AWSManagedRulesAdminProtectionRuleSet', capacity: 100, description: 'Contains rules that block external access to exposed admin pages.', versions: versions(1), defaultVersion: 'Version_1.0' },
  { vendorName: 'AWS', name: 'AWSManagedRulesKnownBadInputsRuleSet', capacity: 200, description: 'Contains rules that allow you to block request patterns that are known to be invalid.', versions: versions(24), defaultVersion: 'Version_1.23' },
  { vendorName: 'AWS', name: 'AWSManagedRulesSQLiRuleSet', capacity: 200, description: 'Contains rules that allow you to block request patterns associated with exploitation of SQL databases.', versions: versions(3), defaultVersion: 'Version_1.2' },
  { vendorName: 'AWS', name: 'AWSManagedRulesLinuxRuleSet', capacity: 200, description: 'Contains rules that block request patterns associated with exploitation of vulnerabilities specific to Linux.', versions: versions(8), defaultVersion: 'Version_1.7' },
  { vendorName: 'AWS', name: 'AWSManagedRulesUnixRuleSet', capacity: 100, description: 'Contains rules that block request patterns associated with exploiting vulnerabilities specific to POSIX operating systems.', versions: versions(3), defaultVersion: 'Version_1.2' },
  { vendorName: 'AWS', name: 'AWSManagedRulesWindowsRuleSet', capacity: 200, description: 'Contains rules that block request patterns associated with exploiting vulnerabilities specific to Windows.', versions: versions(4), defaultVersion: 'Version_1.3' },
  { vendorName: 'AWS', name: 'AWSManagedRulesPHPRuleSet', capacity: 100, description: 'Contains rules that block request patterns associated with exploiting vulnerabilities specific to the use of PHP.', versions: versions(3), defaultVersion: 'Version_1.2' },
  { vendorName: 'AWS', name: 'AWSManagedRulesWordPressRuleSet', capacity: 100, description: 'Contains rules that block request patterns associated with exploitation of vulnerabilities specific to WordPress sites.', versions: versions(2), defaultVersion: 'Version_1.1' },
  { vendorName: 'AWS', name: 'AWSManagedRulesAmazonIpReputationList', capacity: 25, description: 'Contains rules that are based on Amazon threat intelligence.', versions: [] },
  { vendorName: 'AWS', name: 'AWSManagedRulesAnonymousIpList', capacity: 50, description: 'Contains rules that allow you to block requests from services that allow obfuscation of viewer identity.', versions: [] },
  { vendorName: 'AWS', name: 'AWSManagedRulesBotControlRuleSet', capacity: 50, description: 'Provides protection against automated bots.', versions: [...versions(4), ...versions(3, 2), 'Version_3.0'], defaultVersion: 'Version_3.0' },
  { vendorName: 'AWS', name: 'AWSManagedRulesATPRuleSet', capacity: 50, description: 'Provides protection against account takeover attempts on the login page.', versions: versions(1), defaultVersion: 'Version_1.0' },
  { vendorName: 'AWS', name: 'AWSManagedRulesACFPRuleSet', capacity: 50, description: 'Provides protection against fraudulent account creation on the sign-up page.', versions: versions(1), defaultVersion: 'Version_1.0' },
];

export function findManagedRuleGroup(vendorName: string, name: string): ManagedRuleGroup {
  const group = MANAGED_RULE_GROUPS.find((g) => g.vendorName === vendorName && g.name === name);
  if (!group) {
    throw new ServiceError('WAFNonexistentItemException', `WAF couldn't find the managed rule group ${vendorName}/${name}; list the available ones with ListAvailableManagedRuleGroups.`);
  }
  return group;
}

type Json = Record<string, unknown>;

/** Capacity of a rule group the caller owns, by ARN; undefined when there is none. */
export type RuleGroupCapacity = (arn: string) => number | undefined;

export function rulesCapacity(rules: readonly Json[], ruleGroupCapacity: RuleGroupCapacity): number {
  return rules.reduce((sum, rule) => sum + statementCapacity(rule.Statement as Json | undefined, ruleGroupCapacity), 0);
}

function statementCapacity(statement: Json | undefined, ruleGroupCapacity: RuleGroupCapacity): number {
  if (!statement) return 0;
  const nested = (s: unknown) => statementCapacity(s as Json | undefined, ruleGroupCapacity);
  const [kind, body] = (Object.entries(statement).find(([, value]) => value !== undefined && value !== null) ?? []) as [string?, Json?];
  if (!kind || !body) {
    throw new ServiceError('WAFInvalidParameterException', 'A rule has an empty Statement; give it exactly one statement type.', {
      fields: { Field: 'STATEMENT', Reason: 'A statement is required.' },
    });
  }
  switch (kind) {
    case 'ByteMatchStatement': {
      const position = body.PositionalConstraint;
      return matchCost(position === 'CONTAINS' || position === 'CONTAINS_WORD' ? 10 : 2, body);
    }
    case 'RegexMatchStatement':
      return matchCost(3, body);
    case 'RegexPatternSetReferenceStatement':
      return matchCost(25, body);
    case 'SizeConstraintStatement':
      return matchCost(1, body);
    case 'SqliMatchStatement':
      return matchCost(body.SensitivityLevel === 'HIGH' ? 30 : 20, body);
    case 'XssMatchStatement':
      return matchCost(40, body);
    case 'IPSetReferenceStatement':
      return (body.IPSetForwardedIPConfig as Json | undefined)?.Position === 'ANY' ? 5 : 1;
    case 'GeoMatchStatement':
    case 'LabelMatchStatement':
    case 'AsnMatchStatement':
      return 1;
    case 'RateBasedStatement':
      return 2 + nested(body.ScopeDownStatement);
    case 'AndStatement':
    case 'OrStatement':
      return ((body.Statements as Json[] | undefined) ?? []).reduce((sum, s) => sum + nested(s), 0);
    case 'NotStatement':
      return nested(body.Statement);
    case 'ManagedRuleGroupStatement':
      return findManagedRuleGroup(String(body.VendorName), String(body.Name)).capacity + nested(body.ScopeDownStatement);
    case 'RuleGroupReferenceStatement': {
      const capacity = ruleGroupCapacity(String(body.ARN));
      if (capacity === undefined) {
        throw new ServiceError('WAFNonexistentItemException', `WAF couldn't find the rule group ${String(body.ARN)} in this account; create it or correct the ARN.`);
      }
      return capacity;
    }
    default:
      return 1;
  }
}

function matchCost(base: number, body: Json): number {
  const field = (body.FieldToMatch as Json | undefined) ?? {};
  let cost = field.JsonBody ? base * 2 : base;
  if (field.AllQueryArguments) cost += 10;
  const transformations = (body.TextTransformations as Json[] | undefined) ?? [];
  return cost + 10 * transformations.filter((t) => t.Type !== 'NONE').length;
}
