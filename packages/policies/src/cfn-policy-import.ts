import type { PutPolicyCommandInput } from '@aws-sdk/client-fms';
import { InvalidInputError } from '@orgshield/errors';
import { LineCounter, parseDocument } from 'yaml';
import { CfnEvaluationError, CfnEvaluator, type CfnTemplateParts } from './cfn-intrinsics.js';
import { CFN_YAML_TAGS } from './cfn-yaml-tags.js';
import { readManagedServiceData, type ReadServiceData } from './managed-service-data.js';
import { PolicySpecError } from './policy-spec-loader.js';
import { GLOBAL_REGION, PolicySpecSchema, resourceTypeFromApiName, type PolicySpec } from './policy-spec-schema.js';
import { renderPutPolicy } from './put-policy-render.js';
import { formatFieldPath, locateInDocument, readInputFile, type FieldPath, type SpecProblem } from '@orgshield/spec-files';

export interface CfnImportOptions {
  /** Named in error messages. */
  fileName?: string;
  /** Template parameter values, and pseudo parameters (AWS::Region, AWS::AccountId, ...). */
  params?: Readonly<Record<string, string>>;
  /** Values of other resources: `Logical.Attr` (Fn::GetAtt, `${Logical.Attr}`), `Logical` or `Logical.Ref` (Ref). */
  resolve?: Readonly<Record<string, string>>;
}

export interface ImportedPolicy {
  logicalId: string;
  spec: PolicySpec;
  putPolicy: PutPolicyCommandInput;
}

export interface CfnImportResult {
  policies: ImportedPolicy[];
  /** What the import left out on purpose (skipped resources, delete-time options, policy tags). */
  warnings: string[];
}

/** The AWS::FMS::Policy properties; anything else in Properties is a template error. */
const POLICY_PROPERTIES = [
  'DeleteAllPolicyResources', 'ExcludeMap', 'ExcludeResourceTags', 'IncludeMap', 'PolicyDescription', 'PolicyName', 'RemediationEnabled',
  'ResourceSetIds', 'ResourceTagLogicalOperator', 'ResourceTags', 'ResourceType', 'ResourceTypeList', 'ResourcesCleanUp',
  'SecurityServicePolicyData', 'Tags',
];
const PSEUDO_PARAMETER = /^AWS::/;
/** Where a spec field comes from in the template, so its problems point at the right line. */
const SPEC_FIELD_PROPERTIES: Record<string, string[]> = {
  name: ['PolicyName'],
  description: ['PolicyDescription'],
  resourceTypes: ['ResourceTypeList', 'ResourceType'],
  resourceTags: ['ResourceTags'],
  scope: ['IncludeMap', 'ExcludeMap'],
  remediation: ['RemediationEnabled'],
};

/** Reads a CloudFormation template file and imports its Firewall Manager policies. */
export async function importCfnFile(file: string, options: Omit<CfnImportOptions, 'fileName'> = {}): Promise<CfnImportResult> {
  return importCfn(await readInputFile(file, 'CloudFormation template'), { ...options, fileName: file });
}

/**
 * Every AWS::FMS::Policy of a YAML or JSON template as a spec and its PutPolicy input, with
 * the intrinsic functions evaluated. A regional policy is placed in the stack's region (pass
 * AWS::Region); a CloudFront one is global. All problems are reported together, each with its
 * line in the template.
 */
export function importCfn(templateText: string, options: CfnImportOptions = {}): CfnImportResult {
  const file = options.fileName ?? 'template';
  const params = options.params ?? {};
  const resolve = options.resolve ?? {};
  const lineCounter = new LineCounter();
  const document = parseDocument(templateText, { customTags: CFN_YAML_TAGS, lineCounter, prettyErrors: true });
  const problems: SpecProblem[] = [];
  const report = (path: FieldPath, message: string, atKey = false) => {
    const position = locateInDocument(document, lineCounter, path, { atKey });
    problems.push({ file, line: position?.line, column: position?.column, path: formatFieldPath(path), message });
  };
  if (document.errors.length > 0) {
    throw new PolicySpecError(
      document.errors.map((error) => ({
        file,
        line: error.linePos?.[0].line,
        column: error.linePos?.[0].col,
        path: '',
        message: `not a valid YAML or JSON template: ${error.message.replace(/ at line \d+, column \d+:[\s\S]*$/, '')}`,
      })),
      'InvalidCfnTemplate',
    );
  }
  const template = document.toJS() as CfnTemplateParts | null;
  const resources = template?.Resources ?? {};
  checkInputs(template ?? {}, params, resolve);
  const logicalIds = Object.keys(resources).filter((logicalId) => resources[logicalId]?.Type === 'AWS::FMS::Policy');
  if (logicalIds.length === 0) throw new InvalidInputError(`The template ${file} has no AWS::FMS::Policy resource to import.`);

  const evaluator = new CfnEvaluator(template ?? {}, { params, resolve });
  const warnings: string[] = [];
  const policies: ImportedPolicy[] = [];
  for (const logicalId of logicalIds) {
    try {
      const imported = importPolicy(logicalId, resources[logicalId] as CfnResource, evaluator, params, warnings, report);
      if (imported) policies.push(imported);
    } catch (error) {
      if (!(error instanceof CfnEvaluationError)) throw error;
      report(error.path, error.message);
    }
  }
  if (problems.length > 0) throw new PolicySpecError(problems, 'InvalidCfnTemplate');
  return { policies, warnings };
}

/** A misspelled --param or --resolve would otherwise be silently unused. */
function checkInputs(template: CfnTemplateParts, params: Readonly<Record<string, string>>, resolve: Readonly<Record<string, string>>): void {
  for (const name of Object.keys(params)) {
    if (!PSEUDO_PARAMETER.test(name) && !template.Parameters?.[name]) {
      throw new InvalidInputError(`--param ${name} is not a parameter of the template; its parameters are ${Object.keys(template.Parameters ?? {}).join(', ') || 'none'}.`);
    }
  }
  for (const key of Object.keys(resolve)) {
    const [logicalId = ''] = key.split('.');
    if (!template.Resources?.[logicalId]) throw new InvalidInputError(`--resolve ${key} names ${logicalId}, which is not a resource of the template.`);
  }
}

interface CfnResource {
  Type: string;
  Condition?: unknown;
  Properties?: Record<string, unknown>;
}

function importPolicy(
  logicalId: string,
  resource: CfnResource,
  evaluator: CfnEvaluator,
  params: Readonly<Record<string, string>>,
  warnings: string[],
  report: (path: FieldPath, message: string, atKey?: boolean) => void,
): ImportedPolicy | undefined {
  const at = ['Resources', logicalId];
  if (typeof resource.Condition === 'string' && !evaluator.condition(resource.Condition, [...at, 'Condition'])) {
    warnings.push(`${logicalId} is not imported: its condition ${resource.Condition} is false for these parameters.`);
    return undefined;
  }
  const propertiesPath = [...at, 'Properties'];
  const raw = resource.Properties ?? {};
  const unknown = Object.keys(raw).filter((name) => !POLICY_PROPERTIES.includes(name));
  for (const name of unknown) report([...propertiesPath, name], 'is not a property of AWS::FMS::Policy', true);
  if (unknown.length > 0) return undefined;
  const property = (name: string) => evaluator.evaluate(raw[name], [...propertiesPath, name]);
  let failed = false;
  const fail = (name: string, message: string) => {
    failed = true;
    report([...propertiesPath, name], message);
  };

  const serviceData = property('SecurityServicePolicyData');
  const type = isRecord(serviceData) ? serviceData.Type : undefined;
  if (type !== 'WAFV2' && type !== 'SHIELD_ADVANCED') {
    fail('SecurityServicePolicyData', `has type ${JSON.stringify(type)}; orgshield imports WAFV2 and SHIELD_ADVANCED policies`);
    return undefined;
  }
  if (isRecord(serviceData) && !isEmpty(serviceData.PolicyOption)) fail('SecurityServicePolicyData', 'has a PolicyOption, which WAF and Shield policies do not take');
  let read: ReadServiceData;
  try {
    read = readManagedServiceData(type, isRecord(serviceData) ? serviceData.ManagedServiceData : undefined);
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    fail('SecurityServicePolicyData', error.message.replace(/\.$/, ''));
    return undefined;
  }
  for (const setting of read.unmodeled) {
    fail('SecurityServicePolicyData', `${setting.path} is set to ${JSON.stringify(setting.value)}, which an orgshield spec cannot hold; remove it`);
  }
  if (flag(property('ResourcesCleanUp'))) {
    fail('ResourcesCleanUp', 'is true, which an orgshield spec cannot hold (FMS would remove protections from resources leaving scope); set it to false');
  }
  if (!isEmpty(property('ResourceSetIds'))) fail('ResourceSetIds', 'is set, but orgshield specs scope policies by accounts, OUs and tags only');
  if (raw.DeleteAllPolicyResources !== undefined) warnings.push(`${logicalId}: DeleteAllPolicyResources is a delete-time option and is not imported.`);
  if (raw.Tags !== undefined) warnings.push(`${logicalId}: the policy's own Tags are not imported.`);

  const resourceTypes = resourceTypeList(property('ResourceType'), property('ResourceTypeList'));
  const cloudfrontOnly = resourceTypes.length > 0 && resourceTypes.every((apiName) => resourceTypeFromApiName(String(apiName)) === 'cloudfront');
  const region = cloudfrontOnly ? GLOBAL_REGION : params['AWS::Region'];
  if (resourceTypes.length === 0) fail('ResourceType', 'names no resource type to protect');
  else if (region === undefined) fail('ResourceType', "makes this a regional policy, created in the stack's region; pass --param AWS::Region=REGION");
  const include = scopeMap(property('IncludeMap'));
  const exclude = scopeMap(property('ExcludeMap'));
  if (include && exclude) warnings.push(`${logicalId}: FMS ignores ExcludeMap when IncludeMap is set, so ExcludeMap is not imported.`);
  const tags = property('ResourceTags');
  if (failed || region === undefined) return undefined;

  const candidate = {
    type,
    name: property('PolicyName'),
    description: property('PolicyDescription') || undefined,
    resourceTypes,
    regions: [region],
    resourceTags: Array.isArray(tags) && tags.length > 0
      ? {
          match: flag(property('ExcludeResourceTags')) ? 'exclude' : 'include',
          operator: property('ResourceTagLogicalOperator') ?? 'AND',
          tags: tags.map((tag) => (isRecord(tag) ? { key: tag.Key, value: tag.Value ?? '' } : tag)),
        }
      : undefined,
    scope: include || exclude ? { include, exclude: include ? undefined : exclude } : undefined,
    remediation: flag(property('RemediationEnabled')),
    ...read.fields,
  };
  const parsed = PolicySpecSchema.safeParse(candidate);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const candidates = SPEC_FIELD_PROPERTIES[String(issue.path[0])] ?? ['SecurityServicePolicyData'];
      const name = candidates.find((candidate) => candidate in raw);
      report(name ? [...propertiesPath, name] : propertiesPath, `as spec field ${formatFieldPath(issue.path) || 'type'}: ${issue.message}`);
    }
    return undefined;
  }
  return { logicalId, spec: parsed.data, putPolicy: renderPutPolicy(parsed.data, { region }) };
}

function resourceTypeList(type: unknown, list: unknown): unknown[] {
  const listed = Array.isArray(list) ? list : [];
  if (type === undefined || type === 'ResourceTypeList') return listed;
  return [...new Set([type, ...listed])];
}

/** CloudFormation's IEMap spells OUs ORGUNIT; the API (and a copied API map) ORG_UNIT. */
function scopeMap(map: unknown): { accounts: unknown[]; orgUnits: unknown[] } | undefined {
  if (!isRecord(map)) return undefined;
  // A Fn::Split of an empty parameter yields [""]: no id at all.
  const ids = (value: unknown) => (Array.isArray(value) ? value : value === undefined ? [] : [value]).filter((id) => id !== '');
  const accounts = ids(map.ACCOUNT);
  const orgUnits = [...ids(map.ORGUNIT), ...ids(map.ORG_UNIT)];
  return accounts.length === 0 && orgUnits.length === 0 ? undefined : { accounts, orgUnits };
}

/** CloudFormation takes booleans as true/false or as the strings "true"/"false". */
function flag(value: unknown): boolean {
  return value === true || (typeof value === 'string' && value.toLowerCase() === 'true');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || (Array.isArray(value) && value.length === 0) || (isRecord(value) && Object.keys(value).length === 0);
}
