import { ServiceError } from '../service-error.js';

/**
 * ManagedServiceData, the JSON document inside a policy's SecurityServicePolicyData, read the
 * way Firewall Manager reads it: refused with InvalidInputException when it is not JSON, names
 * another policy type, is longer than FMS accepts or misses what a WAFV2 web ACL needs; stored
 * and returned by GetPolicy normalized, with the keys in FMS's order and the values it fills in
 * (null, [] and defaults), as the SecurityServicePolicyData examples of the FMS API reference
 * show them. Keys FMS does not know are dropped, as its deserializer drops them.
 *
 * The exact wording of FMS's InvalidInputException messages is not documented; the messages
 * here name the bad value and the fix.
 */

/**
 * Firewall Manager refuses a longer document even though the model allows 30,000 characters:
 * a web ACL built from it has to fit WAF's own limits.
 */
export const MANAGED_SERVICE_DATA_MAX_LENGTH = 8192;

/** The policy types the sandbox evaluates; FMS has more (security groups, Network Firewall...). */
export const SUPPORTED_POLICY_TYPES = ['WAFV2', 'SHIELD_ADVANCED'] as const;
export type SupportedPolicyType = (typeof SUPPORTED_POLICY_TYPES)[number];

export interface PolicyRuleGroup {
  /** `ManagedRuleGroup` (vendor + name) or `RuleGroup` (one of the account's own, by ARN). */
  kind: 'ManagedRuleGroup' | 'RuleGroup';
  vendorName?: string;
  managedRuleGroupName?: string;
  /** Set only when versionEnabled is true: FMS uses the vendor's default version otherwise. */
  version?: string;
  ruleGroupArn?: string;
  overrideAction: 'NONE' | 'COUNT';
}

export interface WafServiceData {
  type: 'WAFV2';
  preProcessRuleGroups: PolicyRuleGroup[];
  postProcessRuleGroups: PolicyRuleGroup[];
  defaultAction: 'ALLOW' | 'BLOCK';
  overrideCustomerWebACLAssociation: boolean;
  /** RETROFIT_EXISTING: FMS adds its rule groups to the web ACL a resource already has. */
  retrofitExistingWebAcls: boolean;
  optimizeUnassociatedWebACL: boolean;
}

export interface ShieldServiceData {
  type: 'SHIELD_ADVANCED';
  automaticResponseStatus: 'ENABLED' | 'IGNORED' | 'DISABLED';
}

export type PolicyServiceData = WafServiceData | ShieldServiceData;

export interface ReadServiceData {
  data: PolicyServiceData;
  /** What GetPolicy returns as ManagedServiceData; undefined when the request sent none. */
  normalized: string | undefined;
}

type Json = Record<string, unknown>;

const RULE_ACTIONS = ['allow', 'block', 'count', 'captcha', 'challenge'];
const WAF_RULE_GROUP_ARN = /^arn:aws[\w-]*:wafv2:[a-z0-9-]+:\d{12}:(regional|global)\/rulegroup\/[\w-]{1,128}\/[0-9a-f-]{36}$/;
const LOG_DESTINATION = /^arn:aws[\w-]*:(s3:::aws-waf-logs-[a-z0-9.-]+|firehose:[a-z0-9-]+:\d{12}:deliverystream\/aws-waf-logs-[\w.-]+|logs:[a-z0-9-]+:\d{12}:log-group:aws-waf-logs-[\w.\-/#]+)$/;

export function readManagedServiceData(type: string, raw: string | undefined): ReadServiceData {
  if (!isSupported(type)) {
    throw invalid(`The sandbox evaluates WAFV2 and SHIELD_ADVANCED policies only, not ${type}; use one of those types.`);
  }
  if (raw === undefined) {
    if (type === 'SHIELD_ADVANCED') return { data: { type, automaticResponseStatus: 'IGNORED' }, normalized: undefined };
    throw invalid('A WAFV2 policy needs ManagedServiceData with its rule groups and default action; send the document.');
  }
  if (raw.length > MANAGED_SERVICE_DATA_MAX_LENGTH) {
    throw invalid(
      `ManagedServiceData is ${raw.length} characters, more than the ${MANAGED_SERVICE_DATA_MAX_LENGTH} Firewall Manager accepts; move rules into a rule group and reference it by ARN.`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (error) {
    throw invalid(`ManagedServiceData is not valid JSON (${(error as Error).message}); send a JSON object.`);
  }
  if (!isObject(parsed)) throw invalid('ManagedServiceData must be a JSON object; send {"type":"' + type + '",...}.');
  if (parsed.type !== type) {
    throw invalid(
      `ManagedServiceData has type ${JSON.stringify(parsed.type ?? null)} but the policy's SecurityServicePolicyData.Type is ${type}; make them the same.`,
    );
  }
  return type === 'WAFV2' ? readWaf(parsed) : readShield(parsed);
}

function isSupported(type: string): type is SupportedPolicyType {
  return (SUPPORTED_POLICY_TYPES as readonly string[]).includes(type);
}

function readWaf(doc: Json): ReadServiceData {
  const defaultAction = doc.defaultAction;
  if (!isObject(defaultAction) || (defaultAction.type !== 'ALLOW' && defaultAction.type !== 'BLOCK')) {
    throw invalid(`ManagedServiceData defaultAction is ${JSON.stringify(defaultAction ?? null)}; set it to {"type":"ALLOW"} or {"type":"BLOCK"}.`);
  }
  const pre = list(doc, 'preProcessRuleGroups').map((group, i) => readRuleGroup(group, `preProcessRuleGroups[${i}]`));
  const post = list(doc, 'postProcessRuleGroups').map((group, i) => readRuleGroup(group, `postProcessRuleGroups[${i}]`));
  const webACLSource = doc.webACLSource ?? null;
  if (webACLSource !== null && webACLSource !== 'RETROFIT_EXISTING') {
    throw invalid(`ManagedServiceData webACLSource is ${JSON.stringify(webACLSource)}; use "RETROFIT_EXISTING" or leave it out.`);
  }
  const data: WafServiceData = {
    type: 'WAFV2',
    preProcessRuleGroups: pre.map((group) => group.data),
    postProcessRuleGroups: post.map((group) => group.data),
    defaultAction: defaultAction.type,
    overrideCustomerWebACLAssociation: flag(doc, 'overrideCustomerWebACLAssociation', false),
    retrofitExistingWebAcls: webACLSource === 'RETROFIT_EXISTING',
    optimizeUnassociatedWebACL: flag(doc, 'optimizeUnassociatedWebACL', false),
  };
  const normalized: Json = {
    type: 'WAFV2',
    preProcessRuleGroups: pre.map((group) => group.normalized),
    postProcessRuleGroups: post.map((group) => group.normalized),
    defaultAction: { type: data.defaultAction },
    customRequestHandling: doc.customRequestHandling ?? null,
    customResponse: doc.customResponse ?? null,
    overrideCustomerWebACLAssociation: data.overrideCustomerWebACLAssociation,
    loggingConfiguration: readLogging(doc.loggingConfiguration),
    sampledRequestsEnabledForDefaultActions: flag(doc, 'sampledRequestsEnabledForDefaultActions', true),
  };
  // Settings FMS returns only once a policy has them.
  for (const key of ['captchaConfig', 'challengeConfig', 'tokenDomains', 'associationConfig']) {
    if (doc[key] !== undefined && doc[key] !== null) normalized[key] = doc[key];
  }
  normalized.optimizeUnassociatedWebACL = data.optimizeUnassociatedWebACL;
  if (webACLSource !== null) normalized.webACLSource = webACLSource;
  return { data, normalized: JSON.stringify(normalized) };
}

function readRuleGroup(group: unknown, at: string): { data: PolicyRuleGroup; normalized: Json } {
  if (!isObject(group)) throw invalid(`ManagedServiceData ${at} must be an object; describe the rule group with ruleGroupType and its identifier.`);
  const identifier = group.managedRuleGroupIdentifier;
  const kind = group.ruleGroupType ?? (identifier ? 'ManagedRuleGroup' : 'RuleGroup');
  const overrideAction = readOverrideAction(group.overrideAction, at);
  const common = {
    excludeRules: list(group, 'excludeRules', at).map((rule, i) => {
      if (!isObject(rule) || typeof rule.name !== 'string') throw invalid(`ManagedServiceData ${at}.excludeRules[${i}] needs a rule name; write {"name":"RuleName"}.`);
      return { name: rule.name };
    }),
    sampledRequestsEnabled: flag(group, 'sampledRequestsEnabled', true),
    ruleActionOverrides: readRuleActionOverrides(group.ruleActionOverrides, at),
  };
  if (kind === 'RuleGroup') {
    const arn = group.ruleGroupArn;
    if (typeof arn !== 'string' || !WAF_RULE_GROUP_ARN.test(arn)) {
      throw invalid(`ManagedServiceData ${at}.ruleGroupArn is ${JSON.stringify(arn ?? null)}; a RuleGroup needs the ARN of a WAFV2 rule group.`);
    }
    return {
      data: { kind, ruleGroupArn: arn, overrideAction },
      normalized: { ruleGroupArn: arn, overrideAction: { type: overrideAction }, managedRuleGroupIdentifier: null, ruleGroupType: kind, ...common },
    };
  }
  if (kind !== 'ManagedRuleGroup') {
    throw invalid(`ManagedServiceData ${at}.ruleGroupType is ${JSON.stringify(kind)}; use "ManagedRuleGroup" or "RuleGroup".`);
  }
  if (!isObject(identifier) || !nonEmptyString(identifier.vendorName) || !nonEmptyString(identifier.managedRuleGroupName)) {
    throw invalid(`ManagedServiceData ${at}.managedRuleGroupIdentifier needs vendorName and managedRuleGroupName.`);
  }
  const versionEnabled = identifier.versionEnabled ?? null;
  const version = identifier.version ?? null;
  if (versionEnabled === true && !nonEmptyString(version)) {
    throw invalid(`ManagedServiceData ${at}.managedRuleGroupIdentifier has versionEnabled true but no version; name the version or drop versionEnabled.`);
  }
  const normalizedIdentifier: Json = {
    versionEnabled,
    version,
    vendorName: identifier.vendorName,
    managedRuleGroupName: identifier.managedRuleGroupName,
  };
  if (identifier.managedRuleGroupConfigs !== undefined) normalizedIdentifier.managedRuleGroupConfigs = identifier.managedRuleGroupConfigs;
  return {
    data: {
      kind,
      vendorName: identifier.vendorName,
      managedRuleGroupName: identifier.managedRuleGroupName,
      version: versionEnabled === true ? (version as string) : undefined,
      overrideAction,
    },
    normalized: { ruleGroupArn: null, overrideAction: { type: overrideAction }, managedRuleGroupIdentifier: normalizedIdentifier, ruleGroupType: kind, ...common },
  };
}

function readOverrideAction(value: unknown, at: string): 'NONE' | 'COUNT' {
  if (value === undefined || value === null) return 'NONE';
  if (isObject(value) && (value.type === 'NONE' || value.type === 'COUNT')) return value.type;
  throw invalid(`ManagedServiceData ${at}.overrideAction is ${JSON.stringify(value)}; use {"type":"NONE"} or {"type":"COUNT"}.`);
}

/** FMS returns null, not [], for a rule group without rule action overrides. */
function readRuleActionOverrides(value: unknown, at: string): Json[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) throw invalid(`ManagedServiceData ${at}.ruleActionOverrides must be a list of {"name","actionToUse"}.`);
  if (value.length === 0) return null;
  return value.map((override: unknown, i) => {
    const where = `${at}.ruleActionOverrides[${i}]`;
    if (!isObject(override) || !nonEmptyString(override.name) || !isObject(override.actionToUse)) {
      throw invalid(`ManagedServiceData ${where} needs a rule name and an actionToUse such as {"count":{}}.`);
    }
    const actions = Object.keys(override.actionToUse);
    const [action] = actions;
    if (actions.length !== 1 || action === undefined || !RULE_ACTIONS.includes(action)) {
      throw invalid(`ManagedServiceData ${where}.actionToUse names ${JSON.stringify(actions)}; name exactly one of ${RULE_ACTIONS.join(', ')}.`);
    }
    return { name: override.name, actionToUse: override.actionToUse };
  });
}

function readLogging(value: unknown): Json | null {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) throw invalid('ManagedServiceData loggingConfiguration must be an object with logDestinationConfigs.');
  const destinations = value.logDestinationConfigs;
  if (!Array.isArray(destinations) || destinations.length !== 1 || typeof destinations[0] !== 'string') {
    throw invalid('ManagedServiceData loggingConfiguration.logDestinationConfigs must name exactly one log destination ARN.');
  }
  const [destination] = destinations as string[];
  if (destination === undefined || !LOG_DESTINATION.test(destination)) {
    throw invalid(
      `ManagedServiceData log destination ${JSON.stringify(destination)} is not a Firehose stream, S3 bucket or log group whose name starts with aws-waf-logs-; rename it.`,
    );
  }
  const redactedFields = value.redactedFields ?? [];
  if (!Array.isArray(redactedFields) || redactedFields.length > 20) {
    throw invalid('ManagedServiceData loggingConfiguration.redactedFields must be a list of at most 20 fields.');
  }
  const normalized: Json = { logDestinationConfigs: [destination], redactedFields };
  if (value.loggingFilterConfigs !== undefined) normalized.loggingFilterConfigs = value.loggingFilterConfigs;
  return normalized;
}

const AUTOMATIC_RESPONSE_STATUSES = ['ENABLED', 'IGNORED', 'DISABLED'] as const;

function readShield(doc: Json): ReadServiceData {
  const config = doc.automaticResponseConfiguration ?? null;
  let status: ShieldServiceData['automaticResponseStatus'] = 'IGNORED';
  let action: unknown = null;
  if (config !== null) {
    if (!isObject(config) || !AUTOMATIC_RESPONSE_STATUSES.includes(config.automaticResponseStatus as ShieldServiceData['automaticResponseStatus'])) {
      throw invalid(`ManagedServiceData automaticResponseConfiguration is ${JSON.stringify(config)}; set automaticResponseStatus to ENABLED, IGNORED or DISABLED.`);
    }
    status = config.automaticResponseStatus as ShieldServiceData['automaticResponseStatus'];
    action = config.automaticResponseAction ?? null;
    if (status === 'ENABLED' && action !== 'BLOCK' && action !== 'COUNT') {
      throw invalid(`ManagedServiceData automaticResponseAction is ${JSON.stringify(action)}; an ENABLED automatic response needs BLOCK or COUNT.`);
    }
  }
  const normalized = {
    type: 'SHIELD_ADVANCED',
    automaticResponseConfiguration: { automaticResponseStatus: status, automaticResponseAction: status === 'ENABLED' ? action : null },
    overrideCustomerWebaclClassic: flag(doc, 'overrideCustomerWebaclClassic', false),
    optimizeUnassociatedWebACL: flag(doc, 'optimizeUnassociatedWebACL', false),
  };
  return { data: { type: 'SHIELD_ADVANCED', automaticResponseStatus: status }, normalized: JSON.stringify(normalized) };
}

function list(doc: Json, key: string, at?: string): unknown[] {
  const value = doc[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(`ManagedServiceData ${at ? `${at}.` : ''}${key} must be a list.`);
  return value;
}

function flag(doc: Json, key: string, fallback: boolean): boolean {
  const value = doc[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean') throw invalid(`ManagedServiceData ${key} is ${JSON.stringify(value)}; use true or false.`);
  return value;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

function invalid(message: string): ServiceError {
  return new ServiceError('InvalidInputException', message);
}
