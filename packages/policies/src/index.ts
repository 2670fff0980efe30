export {
  PolicySpecSchema,
  WafPolicySpecSchema,
  ShieldPolicySpecSchema,
  RESOURCE_TYPE_API_NAMES,
  WAF_RESOURCE_TYPES,
  SHIELD_RESOURCE_TYPES,
  GLOBAL_REGION,
  GLOBAL_API_REGION,
  POLICY_QUOTAS,
  apiRegionOf,
  hasOuPaths,
  resourceTypeFromApiName,
} from './policy-spec-schema.js';
export type {
  PolicySpec,
  PolicySpecInput,
  WafPolicySpec,
  ShieldPolicySpec,
  RuleGroupRef,
  ResourceTagFilter,
  PolicyScope,
  LoggingSpec,
  RedactedField,
  ResourceTypeName,
  RuleAction,
} from './policy-spec-schema.js';
export { loadPolicySpec, parsePolicySpecText, PolicySpecError } from './policy-spec-loader.js';
export type { LoadedPolicySpec } from './policy-spec-loader.js';
export { renderManagedServiceData, readManagedServiceData } from './managed-service-data.js';
export type { UnmodeledSetting, ServiceDataFields, ReadServiceData } from './managed-service-data.js';
export { renderPutPolicy, renderPutPolicies } from './put-policy-render.js';
export type { RenderOptions, RenderedPutPolicy } from './put-policy-render.js';
export { parseLivePolicy } from './live-policy-parse.js';
export type { LivePolicy } from './live-policy-parse.js';
export { diffPolicy } from './policy-diff.js';
export type { PolicyDifference } from './policy-diff.js';
export {
  validatePolicies,
  collectRuleGroupCapacities,
  capacityKey,
  ruleGroupCapacity,
  DEFAULT_VALIDATION_LIMITS,
} from './policy-validation.js';
export type { ValidationContext, ValidationProblem, CapacityCheckRequest } from './policy-validation.js';
export { validatePolicyFiles } from './policy-file-validation.js';
export type { PolicyFileReport } from './policy-file-validation.js';
export { AWS_MANAGED_RULE_GROUP_CAPACITIES } from './aws-managed-rule-group-capacities.js';
export { importCfn, importCfnFile } from './cfn-policy-import.js';
export type { CfnImportOptions, CfnImportResult, ImportedPolicy } from './cfn-policy-import.js';
