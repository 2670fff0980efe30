/**
 * Web ACL capacity units (WCU) of the AWS Managed Rules rule groups (vendor AWS).
 *
 * Source: AWS WAF Developer Guide, "AWS Managed Rules rule groups list" and its pages
 * (aws-managed-rule-groups-baseline, -use-case, -ip-rep, -bot, -atp, -acfp), each of which
 * states "VendorName: AWS, Name: ..., WCU: n" for the latest static version; checked
 * 2026-11 (CommonRuleSet 700, SQLiRuleSet 200, AmazonIpReputationList 25 read from the pages).
 * A new version of a group can change its capacity: DescribeManagedRuleGroup returns the
 * exact figure for a version, and a spec can state `capacity` to override this table.
 */
export const AWS_MANAGED_RULE_GROUP_CAPACITIES: Readonly<Record<string, number>> = {
  // Baseline rule groups
  AWSManagedRulesCommonRuleSet: 700,
  AWSManagedRulesAdminProtectionRuleSet: 100,
  AWSManagedRulesKnownBadInputsRuleSet: 200,
  // Use-case specific rule groups
  AWSManagedRulesSQLiRuleSet: 200,
  AWSManagedRulesLinuxRuleSet: 200,
  AWSManagedRulesUnixRuleSet: 100,
  AWSManagedRulesWindowsRuleSet: 200,
  AWSManagedRulesPHPRuleSet: 100,
  AWSManagedRulesWordPressRuleSet: 100,
  // IP reputation rule groups
  AWSManagedRulesAmazonIpReputationList: 25,
  AWSManagedRulesAnonymousIpList: 50,
  // Bot Control and fraud control (paid) rule groups
  AWSManagedRulesBotControlRuleSet: 50,
  AWSManagedRulesATPRuleSet: 50,
  AWSManagedRulesACFPRuleSet: 50,
};
