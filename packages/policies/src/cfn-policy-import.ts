import type { PutPolicyCommandInput } from '@aws-sdk/client-fms';
import { InvalidInputError } from '@orgshield/errors';
import { CfnEvaluationError, CfnEvaluator, CfnExpansionLimitError, NO_VALUE, type CfnTemplateParts } from './cfn-intrinsics.js';
import { CFN_YAML_TAGS } from './cfn-yaml-tags.js';
import { readManagedServiceData, type ReadServiceData } from './managed-service-data.js';
import { PolicySpecError } from './policy-spec-loader.js';
import { GLOBAL_REGION, PolicySpecSchema, resourceTypeFromApiName, type PolicySpec } from './policy-spec-schema.js';
import { renderPutPolicy } from './put-policy-render.js';
import { documentValue, formatFieldPath, locateInDocument, parseSourceWithinLimits, readInputFile, type FieldPath, type SpecProblem } from '@orgshield/spec-files';

export interface CfnImportOptions {
  /** Named in error messages. */
  fileName?: string;
  /** Template parameter values, and pseudo parameters (AWS::Region, AWS::AccountId, ...). */
  params?: Readonly<Record<string, string>>;
  /** The stack's region (the configured one, AWS_REGION, as every AWS tool takes it); `--param AWS::Region` wins. */
  region?: string;
  /** Most text the template may build through Join, Split, Sub, ...; default DEFAULT_MAX_EXPANSION_BYTES (5 MB). */
  maxExpansionBytes?: number;
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
 * the intrinsic functions evaluated. A regional policy is placed in the stack's region (the
 * `region` option, or AWS::Region); a CloudFront one is global. All problems are reported
 * together, each with its line in the template, and every value the user still has to supply
 * is named in the same run.
 */
export function importCfn(templateText: string, options: CfnImportOptions = {}): CfnImportResult {
  const file = options.fileName ?? 'template';
  const params = options.region === undefined ? (options.params ?? {}) : { 'AWS::Region': options.region, ...options.params };
  const resolve = options.resolve ?? {};
  const source = parseSourceWithinLimits(templateText, file, { yaml: { customTags: CFN_YAML_TAGS } });
  if (!source.ok) {
    throw new PolicySpecError(source.problems.map((problem) => ({ ...problem, message: problem.message.replace(/^not valid YAML or JSON:/, 'not a valid YAML or JSON template:') })), 'InvalidCfnTemplate');
  }
  const { document, lineCounter } = source;
  const problems: SpecProblem[] = [];
  const report = (path: FieldPath, message: string, atKey = false) => {
    const position = locateInDocument(document, lineCounter, path, { atKey });
    problems.push({ file, line: position?.line, column: position?.column, path: formatFieldPath(path), message });
  };
  const built = documentValue(source, file);
  if (!built.ok) throw new PolicySpecError(built.problems, 'InvalidCfnTemplate');
  const parsed = built.value;
  const template = (isRecord(parsed) ? parsed : {}) as CfnTemplateParts;
  const resources: Record<string, unknown> = isRecord(template.Resources) ? template.Resources : {};
  checkInputs(template, params, resolve);
  const logicalIds = Object.keys(resources).filter((logicalId) => isRecord(resources[logicalId]) && resources[logicalId].Type === 'AWS::FMS::Policy');
  if (logicalIds.length === 0) throw new InvalidInputError(`The template ${file} has no AWS::FMS::Policy resource to import.`);

  // Every value still to supply is asked for once, at its first use, whichever policy needs it.
  const asked = new Set<string>();
  let missing: CfnEvaluationError[] = [];
  const evaluator = new CfnEvaluator(template, {
    params,
    resolve,
    maxExpansionBytes: options.maxExpansionBytes,
    onMissing: (problem) => missing.push(problem),
  });
  for (const problem of evaluator.parameterProblems()) report(problem.path, problem.message);
  const warnings: string[] = [];
  const policies: ImportedPolicy[] = [];
  for (const logicalId of logicalIds) {
    missing = [];
    const found: [path: FieldPath, message: string, atKey?: boolean][] = [];
    let imported: ImportedPolicy | undefined;
    let failure: CfnEvaluationError | undefined;
    try {
      imported = importPolicy({ logicalId, resource: resources[logicalId] as CfnResource, evaluator, warnings, report: (...problem) => found.push(problem) });
    } catch (error) {
      if (!(error instanceof CfnEvaluationError)) throw error;
      failure = error;
    }
    if (failure instanceof CfnExpansionLimitError) {
      // The limit is for the whole template: the policies after this one would only hit it again.
      report(failure.path, failure.message);
      break;
    }
    if (missing.length > 0) {
      // A problem found after a stand-in was used may be the stand-in's doing, so only the missing values are reported.
      for (const problem of missing) {
        if (!asked.has(problem.message)) report(problem.path, problem.message);
        asked.add(problem.message);
      }
      continue;
    }
    for (const problem of found) report(...problem);
    if (failure) report(failure.path, failure.message);
    else if (imported && found.length === 0) policies.push(imported);
  }
  if (problems.length > 0) throw new PolicySpecError(problems, 'InvalidCfnTemplate');
  return { policies, warnings };
}

/** A misspelled --param or --resolve would otherwise be silently unused. */
function checkInputs(template: CfnTemplateParts, params: Readonly<Record<string, string>>, resolve: Readonly<Record<string, string>>): void {
  for (const name of Object.keys(params)) {
    if (!PSEUDO_PARAMETER.test(name) && !(isRecord(template.Parameters) && Object.hasOwn(template.Parameters, name))) {
      throw new InvalidInputError(`--param ${name} is not a parameter of the template; its parameters are ${Object.keys(template.Parameters ?? {}).join(', ') || 'none'}.`);
    }
  }
  for (const key of Object.keys(resolve)) {
    const [logicalId = ''] = key.split('.');
    if (!(isRecord(template.Resources) && Object.hasOwn(template.Resources, logicalId))) throw new InvalidInputError(`--resolve ${key} names ${logicalId}, which is not a resource of the template.`);
  }
}

interface CfnResource {
  Type: string;
  Condition?: unknown;
  Properties?: Record<string, unknown>;
}

interface PolicyImport {
  logicalId: string;
  resource: CfnResource;
  evaluator: CfnEvaluator;
  /** What the import leaves out on purpose, for the user. */
  warnings: string[];
  report: (path: FieldPath, message: string, atKey?: boolean) => void;
}

function importPolicy({ logicalId, resource, evaluator, warnings, report }: PolicyImport): ImportedPolicy | undefined {
  const at = ['Resources', logicalId];
  if (typeof resource.Condition === 'string' && !evaluator.condition(resource.Condition, [...at, 'Condition'])) {
    warnings.push(`${logicalId} is not imported: its condition ${resource.Condition} is false for these parameters.`);
    return undefined;
  }
  const propertiesPath = [...at, 'Properties'];
  const raw = isRecord(resource.Properties) ? resource.Properties : {};
  const unknown = Object.keys(raw).filter((name) => !POLICY_PROPERTIES.includes(name));
  for (const name of unknown) report([...propertiesPath, name], 'is not a property of AWS::FMS::Policy', true);
  if (unknown.length > 0) return undefined;
  // A property that evaluates to AWS::NoValue is a property left out.
  const property = (name: string) => {
    const value = Object.hasOwn(raw, name) ? evaluator.evaluate(raw[name], [...propertiesPath, name]) : undefined;
    return value === NO_VALUE ? undefined : value;
  };
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
  if (resourceTypes.length === 0) fail('ResourceType', 'names no resource type to protect');
  // A regional policy is created in the stack's region: asked for like any other missing value.
  const region = cloudfrontOnly || resourceTypes.length === 0 ? GLOBAL_REGION : String(evaluator.evaluate({ Ref: 'AWS::Region' }, [...propertiesPath, 'ResourceType']));
  const include = scopeMap(property('IncludeMap'));
  const exclude = scopeMap(property('ExcludeMap'));
  if (include && exclude) warnings.push(`${logicalId}: FMS ignores ExcludeMap when IncludeMap is set, so ExcludeMap is not imported.`);
  const tags = property('ResourceTags');
  if (failed) return undefined;

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
  return { logicalId, spec: parsed.data, putPolicy: withTemplateServiceData(renderPutPolicy(parsed.data, { region }), serviceData as Record<string, unknown>) };
}

/**
 * An import sends what the template says: its own ManagedServiceData, compacted, not the one
 * orgshield would render from the spec (which spells out defaults such as sampledRequestsEnabled).
 * The document was read above, so it holds nothing a spec cannot.
 */
function withTemplateServiceData(input: PutPolicyCommandInput, serviceData: Record<string, unknown>): PutPolicyCommandInput {
  const document = serviceData.ManagedServiceData;
  const policy = input.Policy;
  if (isEmpty(document) || !policy?.SecurityServicePolicyData) return input;
  const compact = JSON.stringify(typeof document === 'string' ? JSON.parse(document) : document);
  return { ...input, Policy: { ...policy, SecurityServicePolicyData: { ...policy.SecurityServicePolicyData, ManagedServiceData: compact } } };
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
