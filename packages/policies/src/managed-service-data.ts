import { InvalidInputError } from '@orgshield/errors';
import type { PolicySpec, RuleAction, RuleGroupRef, ShieldPolicySpec, WafPolicySpec } from './policy-spec-schema.js';
import { formatFieldPath, type FieldPath } from '@orgshield/spec-files';

/**
 * ManagedServiceData, the JSON string inside SecurityServicePolicyData, both ways.
 *
 * Rendering writes the keys in the order the FMS API reference documents them (type,
 * preProcessRuleGroups, postProcessRuleGroups, defaultAction, overrideCustomerWebACLAssociation,
 * loggingConfiguration, sampledRequestsEnabledForDefaultActions, webACLSource; in a rule group
 * ruleGroupArn, overrideAction, managedRuleGroupIdentifier, ruleGroupType, excludeRules,
 * sampledRequestsEnabled, ruleActionOverrides), leaving out what would be null.
 *
 * Reading is lenient the way FMS is: GetPolicy returns the document normalized (nulls, empty
 * lists, defaults, its own key order), and templates write it by hand. Whatever reads as a
 * default is the default; a setting orgshield does not model but that has a non-default value
 * is returned as `unmodeled`, so a diff can show it and an import can refuse it.
 */

/** A setting found in a live or imported policy that a spec cannot express. */
export interface UnmodeledSetting {
  path: string;
  value: unknown;
}

export function renderManagedServiceData(spec: PolicySpec): string | undefined {
  return spec.type === 'WAFV2' ? JSON.stringify(wafServiceData(spec)) : shieldServiceData(spec);
}

function wafServiceData(spec: WafPolicySpec): Record<string, unknown> {
  return {
    type: 'WAFV2',
    preProcessRuleGroups: spec.rules.firstRuleGroups.map(ruleGroupData),
    postProcessRuleGroups: spec.rules.lastRuleGroups.map(ruleGroupData),
    defaultAction: { type: spec.rules.defaultAction },
    overrideCustomerWebACLAssociation: spec.overrideCustomerWebACLAssociation,
    loggingConfiguration: spec.logging && {
      logDestinationConfigs: [spec.logging.destination],
      redactedFields: spec.logging.redactedFields.map((field) => ({
        redactedFieldType: field.type,
        redactedFieldValue: field.name,
      })),
    },
    sampledRequestsEnabledForDefaultActions: true,
    webACLSource: spec.webACLSource,
  };
}

function ruleGroupData(group: RuleGroupRef): Record<string, unknown> {
  const managed = group.managedRuleGroup;
  if (!managed) {
    return { ruleGroupArn: group.ruleGroupArn, overrideAction: { type: group.override }, ruleGroupType: 'RuleGroup', sampledRequestsEnabled: true };
  }
  return {
    overrideAction: { type: group.override },
    managedRuleGroupIdentifier: {
      // FMS only pins a version when versionEnabled is true.
      versionEnabled: managed.version === undefined ? undefined : true,
      version: managed.version,
      vendorName: managed.vendor,
      managedRuleGroupName: managed.name,
    },
    ruleGroupType: 'ManagedRuleGroup',
    excludeRules: group.excludedRules.map((name) => ({ name })),
    sampledRequestsEnabled: true,
    ruleActionOverrides:
      group.ruleActionOverrides.length === 0
        ? undefined
        : group.ruleActionOverrides.map((override) => ({ name: override.name, actionToUse: { [override.action]: {} } })),
  };
}

/**
 * Shield's document only matters for CloudFront (automatic application-layer response); for the
 * other resource types FMS documents it as empty, so none is sent.
 */
function shieldServiceData(spec: ShieldPolicySpec): string | undefined {
  if (!spec.resourceTypes.includes('cloudfront')) return undefined;
  const automaticResponseConfiguration =
    spec.automaticResponse === 'ignored'
      ? { automaticResponseStatus: 'IGNORED' }
      : { automaticResponseStatus: 'ENABLED', automaticResponseAction: spec.automaticResponse.toUpperCase() };
  return JSON.stringify({ type: 'SHIELD_ADVANCED', automaticResponseConfiguration });
}

/** The spec fields a ManagedServiceData document describes, not yet validated by the schema. */
export type ServiceDataFields =
  | Pick<WafPolicySpec, 'rules' | 'logging' | 'overrideCustomerWebACLAssociation' | 'webACLSource'>
  | Pick<ShieldPolicySpec, 'automaticResponse'>;

export interface ReadServiceData {
  fields: ServiceDataFields;
  unmodeled: UnmodeledSetting[];
}

/**
 * Reads a ManagedServiceData document (a JSON string, or an object as CloudFormation also
 * accepts) into spec fields. `where` names the document in error messages.
 */
export function readManagedServiceData(type: PolicySpec['type'], document: unknown, where = 'ManagedServiceData'): ReadServiceData {
  const reader = new ServiceDataReader(where);
  const data = reader.document(type, document);
  const fields = type === 'WAFV2' ? reader.waf(data) : reader.shield(data);
  return { fields, unmodeled: reader.unmodeled };
}

type Json = Record<string, unknown>;

class ServiceDataReader {
  readonly unmodeled: UnmodeledSetting[] = [];

  constructor(private readonly where: string) {}

  document(type: PolicySpec['type'], document: unknown): Json {
    if (document === undefined || document === null || document === '') {
      if (type === 'SHIELD_ADVANCED') return {};
      throw this.error([], 'is missing; a WAFV2 policy needs its rule groups and default action');
    }
    let data = document;
    if (typeof document === 'string') {
      try {
        data = JSON.parse(document);
      } catch (error) {
        throw this.error([], `is not valid JSON (${(error as Error).message})`);
      }
    }
    if (!isObject(data)) throw this.error([], 'must be a JSON object');
    if (data.type !== undefined && data.type !== null && data.type !== type) {
      throw this.error(['type'], `is ${JSON.stringify(data.type)} but the policy type is ${type}`);
    }
    return data;
  }

  waf(data: Json): ServiceDataFields {
    const defaultAction = data.defaultAction;
    if (!isObject(defaultAction) || typeof defaultAction.type !== 'string') {
      throw this.error(['defaultAction'], 'needs a type, ALLOW or BLOCK');
    }
    const fields = {
      rules: {
        defaultAction: defaultAction.type as 'ALLOW' | 'BLOCK',
        firstRuleGroups: this.list(data, 'preProcessRuleGroups').map((group, index) => this.ruleGroup(group, ['preProcessRuleGroups', index])),
        lastRuleGroups: this.list(data, 'postProcessRuleGroups').map((group, index) => this.ruleGroup(group, ['postProcessRuleGroups', index])),
      },
      logging: this.logging(data.loggingConfiguration),
      overrideCustomerWebACLAssociation: this.flag(data, 'overrideCustomerWebACLAssociation', false),
      webACLSource: isEmpty(data.webACLSource) ? undefined : (data.webACLSource as 'RETROFIT_EXISTING'),
    };
    this.defaultOnly(data, [], 'sampledRequestsEnabledForDefaultActions', true);
    this.defaultOnly(data, [], 'optimizeUnassociatedWebACL', false);
    this.rest(data, [], [
      'type', 'preProcessRuleGroups', 'postProcessRuleGroups', 'defaultAction', 'overrideCustomerWebACLAssociation',
      'loggingConfiguration', 'sampledRequestsEnabledForDefaultActions', 'optimizeUnassociatedWebACL', 'webACLSource',
    ]);
    return fields;
  }

  shield(data: Json): ServiceDataFields {
    let automaticResponse: ShieldPolicySpec['automaticResponse'] = 'ignored';
    const config = data.automaticResponseConfiguration;
    if (isObject(config)) {
      const status = config.automaticResponseStatus;
      const action = config.automaticResponseAction;
      if (status === 'ENABLED' && (action === 'COUNT' || action === 'BLOCK')) automaticResponse = action === 'COUNT' ? 'count' : 'block';
      else if (!isEmpty(status) && status !== 'IGNORED') this.note(['automaticResponseConfiguration'], config);
    }
    this.defaultOnly(data, [], 'overrideCustomerWebaclClassic', false);
    this.defaultOnly(data, [], 'optimizeUnassociatedWebACL', false);
    this.rest(data, [], ['type', 'automaticResponseConfiguration', 'overrideCustomerWebaclClassic', 'optimizeUnassociatedWebACL']);
    return { automaticResponse };
  }

  private ruleGroup(group: unknown, path: FieldPath): RuleGroupRef {
    if (!isObject(group)) throw this.error(path, 'must be an object');
    const identifier = group.managedRuleGroupIdentifier;
    const kind = group.ruleGroupType ?? (isEmpty(identifier) ? 'RuleGroup' : 'ManagedRuleGroup');
    const override = isObject(group.overrideAction) && typeof group.overrideAction.type === 'string' ? group.overrideAction.type : 'NONE';
    this.defaultOnly(group, path, 'sampledRequestsEnabled', true);
    this.rest(group, path, [
      'ruleGroupType', 'ruleGroupArn', 'managedRuleGroupIdentifier', 'overrideAction', 'excludeRules', 'ruleActionOverrides', 'sampledRequestsEnabled',
    ]);
    if (kind === 'RuleGroup') {
      if (typeof group.ruleGroupArn !== 'string') throw this.error([...path, 'ruleGroupArn'], 'is required for a RuleGroup');
      if (!isEmpty(identifier)) this.note([...path, 'managedRuleGroupIdentifier'], identifier);
      for (const key of ['excludeRules', 'ruleActionOverrides']) if (!isEmpty(group[key])) this.note([...path, key], group[key]);
      return { ruleGroupArn: group.ruleGroupArn, override: override as RuleGroupRef['override'], excludedRules: [], ruleActionOverrides: [] };
    }
    if (kind !== 'ManagedRuleGroup') throw this.error([...path, 'ruleGroupType'], `is ${JSON.stringify(kind)}; use ManagedRuleGroup or RuleGroup`);
    if (!isObject(identifier) || typeof identifier.managedRuleGroupName !== 'string' || typeof identifier.vendorName !== 'string') {
      throw this.error([...path, 'managedRuleGroupIdentifier'], 'needs vendorName and managedRuleGroupName');
    }
    if (!isEmpty(group.ruleGroupArn)) this.note([...path, 'ruleGroupArn'], group.ruleGroupArn);
    const idPath = [...path, 'managedRuleGroupIdentifier'];
    this.rest(identifier, idPath, ['vendorName', 'managedRuleGroupName', 'version', 'versionEnabled']);
    // FMS uses the vendor's default version unless versionEnabled is true.
    const pinned = identifier.versionEnabled === true && typeof identifier.version === 'string' && identifier.version !== '';
    return {
      managedRuleGroup: {
        vendor: identifier.vendorName,
        name: identifier.managedRuleGroupName,
        version: pinned ? (identifier.version as string) : undefined,
      },
      override: override as RuleGroupRef['override'],
      excludedRules: this.list(group, 'excludeRules', path).map((rule, index) => {
        if (!isObject(rule) || typeof rule.name !== 'string') throw this.error([...path, 'excludeRules', index], 'needs a rule name');
        return rule.name;
      }),
      ruleActionOverrides: this.list(group, 'ruleActionOverrides', path).flatMap((override, index) => {
        const at = [...path, 'ruleActionOverrides', index];
        if (!isObject(override) || typeof override.name !== 'string' || !isObject(override.actionToUse)) {
          throw this.error(at, 'needs a rule name and an actionToUse');
        }
        const actions = Object.entries(override.actionToUse);
        const [action, settings] = actions[0] ?? [];
        // A custom response or request handling inside the action is more than the spec can say.
        if (actions.length !== 1 || !isEmpty(settings)) {
          this.note(at, override);
          return [];
        }
        return [{ name: override.name, action: String(action).toLowerCase() as RuleAction }];
      }),
    };
  }

  private logging(config: unknown): WafPolicySpec['logging'] {
    if (isEmpty(config)) return undefined;
    const path = ['loggingConfiguration'];
    if (!isObject(config)) throw this.error(path, 'must be an object');
    const destinations = this.list(config, 'logDestinationConfigs', path);
    const [destination] = destinations;
    if (destinations.length !== 1 || typeof destination !== 'string') {
      throw this.error([...path, 'logDestinationConfigs'], 'must name exactly one log destination ARN');
    }
    this.rest(config, path, ['logDestinationConfigs', 'redactedFields']);
    return {
      destination,
      redactedFields: this.list(config, 'redactedFields', path).map((field, index) => {
        if (!isObject(field) || typeof field.redactedFieldType !== 'string') {
          throw this.error([...path, 'redactedFields', index], 'needs a redactedFieldType');
        }
        return {
          type: field.redactedFieldType as LoggingRedactedType,
          name: isEmpty(field.redactedFieldValue) ? undefined : String(field.redactedFieldValue),
        };
      }),
    };
  }

  private list(data: Json, key: string, path: FieldPath = []): unknown[] {
    const value = data[key];
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw this.error([...path, key], 'must be a list');
    return value;
  }

  private flag(data: Json, key: string, fallback: boolean): boolean {
    const value = data[key];
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') throw this.error([key], `must be true or false, not ${JSON.stringify(value)}`);
    return value;
  }

  /** A setting the spec leaves at its FMS default: any other value is unmodeled. */
  private defaultOnly(data: Json, path: FieldPath, key: string, fallback: unknown): void {
    const value = data[key];
    if (value !== undefined && value !== null && value !== fallback) this.note([...path, key], value);
  }

  /** Keys a spec has no field for: empty ones are FMS's fill-in, others are unmodeled. */
  private rest(data: Json, path: FieldPath, known: readonly string[]): void {
    for (const [key, value] of Object.entries(data)) {
      if (!known.includes(key) && !isEmpty(value)) this.note([...path, key], value);
    }
  }

  private note(path: FieldPath, value: unknown): void {
    this.unmodeled.push({ path: formatFieldPath([this.where, ...path]), value });
  }

  private error(path: FieldPath, message: string): InvalidInputError {
    return new InvalidInputError(`${formatFieldPath([this.where, ...path])} ${message}.`, { code: 'InvalidManagedServiceData' });
  }
}

type LoggingRedactedType = NonNullable<WafPolicySpec['logging']>['redactedFields'][number]['type'];

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What FMS writes for "not set": null, or an empty string, list or object. */
function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return isObject(value) && Object.keys(value).length === 0;
}
