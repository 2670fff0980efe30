import type {
  AddTagsToResourceRequest,
  DeleteParameterRequest,
  DescribeParametersRequest,
  DescribeParametersResult,
  GetParameterRequest,
  GetParameterResult,
  GetParametersRequest,
  GetParametersResult,
  ListTagsForResourceRequest,
  ListTagsForResourceResult,
  Parameter,
  PutParameterRequest,
  PutParameterResult,
  Tag,
} from '@aws-sdk/client-ssm';
import { defineService, type RequestContext } from '../service-definition.js';
import { ServiceError } from '../service-error.js';
import { defineRegionState } from '../world/world.js';
import { kmsDecrypt, kmsEncrypt, resolveKmsKey } from './kms.js';

interface ParameterVersion {
  version: number;
  type: 'String' | 'StringList' | 'SecureString';
  /** Plain text, or for a SecureString the KMS ciphertext. */
  value: string | Buffer;
  keyArn?: string;
  description?: string;
  lastModified: Date;
  labels: Set<string>;
}

interface StoredParameter {
  name: string;
  arn: string;
  versions: ParameterVersion[];
  tags: Tag[];
}

const parametersOf = defineRegionState('ssm:parameters', () => new Map<string, StoredParameter>());
/** Parameter Store keeps the last 100 versions of a parameter. */
const MAX_VERSIONS = 100;

/**
 * SSM Parameter Store: String, StringList and SecureString parameters (encrypted with a KMS key,
 * by default the AWS managed alias/aws/ssm; returned decrypted only WithDecryption), versions
 * and `name:version` selectors, Overwrite, hierarchies by leading slash, tags. Not modelled:
 * labels' API, policies, Advanced tier, parameter history and sharing.
 */
export const ssm = defineService({
  signingName: 'ssm',
  handlers: {
    PutParameter(input: PutParameterRequest, ctx): PutParameterResult {
      const name = checkName(input.Name ?? '');
      const all = ctx.state(parametersOf);
      const existing = all.get(name);
      if (existing && !input.Overwrite) throw new ServiceError('ParameterAlreadyExists', 'The parameter already exists. To overwrite this value, set the overwrite option in the request to true.');
      if (existing && input.Tags?.length) throw new ServiceError('ValidationException', 'Invalid request: tags and overwrite can\'t be used together. To create a parameter with tags, please remove overwrite flag.', { status: 400 });
      const type = input.Type ?? existing?.versions.at(-1)?.type;
      if (type === undefined) throw new ServiceError('ValidationException', 'A parameter type is required when you create a parameter.', { status: 400 });
      if (input.KeyId !== undefined && type !== 'SecureString') throw new ServiceError('ValidationException', 'KeyId is required for SecureString type parameter only.', { status: 400 });
      const value = input.Value ?? '';
      if (input.AllowedPattern !== undefined && !new RegExp(input.AllowedPattern).test(value)) {
        throw new ServiceError('ParameterPatternMismatchException', `Parameter value, cannot be validated against allowedPattern: ${input.AllowedPattern}`);
      }
      let stored: string | Buffer = value;
      let keyArn: string | undefined;
      if (type === 'SecureString') {
        const keyId = input.KeyId ?? existing?.versions.at(-1)?.keyArn ?? 'alias/aws/ssm';
        let key;
        try {
          key = resolveKmsKey(ctx.world, ctx, keyId);
        } catch {
          throw new ServiceError('InvalidKeyId', `Invalid KeyId ${keyId}`);
        }
        keyArn = key.arn;
        stored = kmsEncrypt(key, Buffer.from(value), { PARAMETER_ARN: arnOf(ctx, name) });
      }
      const parameter = existing ?? { name, arn: arnOf(ctx, name), versions: [], tags: input.Tags ?? [] };
      const version: ParameterVersion = {
        version: (parameter.versions.at(-1)?.version ?? 0) + 1,
        type,
        value: stored,
        ...(keyArn === undefined ? {} : { keyArn }),
        ...(input.Description === undefined ? {} : { description: input.Description }),
        lastModified: ctx.world.clock.now(),
        labels: new Set(),
      };
      parameter.versions.push(version);
      if (parameter.versions.length > MAX_VERSIONS) parameter.versions.shift();
      all.set(name, parameter);
      return { Version: version.version, Tier: 'Standard' };
    },

    GetParameter(input: GetParameterRequest, ctx): GetParameterResult {
      return { Parameter: read(ctx, input.Name ?? '', input.WithDecryption ?? false) };
    },

    GetParameters(input: GetParametersRequest, ctx): GetParametersResult {
      const found: Parameter[] = [];
      const invalid: string[] = [];
      for (const name of input.Names ?? []) {
        try {
          found.push(read(ctx, name, input.WithDecryption ?? false));
        } catch (error) {
          if (!(error instanceof ServiceError) || !error.code.startsWith('Parameter')) throw error;
          invalid.push(name);
        }
      }
      return { Parameters: found, InvalidParameters: invalid };
    },

    DeleteParameter(input: DeleteParameterRequest, ctx): void {
      if (!ctx.state(parametersOf).delete(input.Name ?? '')) throw new ServiceError('ParameterNotFound', `Parameter ${input.Name} not found.`);
    },

    DescribeParameters(input: DescribeParametersRequest, ctx): DescribeParametersResult {
      let all = [...ctx.state(parametersOf).values()].sort((a, b) => (a.name < b.name ? -1 : 1));
      for (const filter of input.ParameterFilters ?? []) {
        const values = filter.Values ?? [];
        if (filter.Key === 'Name') all = all.filter((p) => values.some((v) => (filter.Option === 'BeginsWith' ? p.name.startsWith(v) : p.name === v)));
        else if (filter.Key === 'Path') all = all.filter((p) => values.some((v) => p.name.startsWith(v.endsWith('/') ? v : `${v}/`)));
        else if (filter.Key === 'Type') all = all.filter((p) => values.includes(p.versions.at(-1)?.type ?? ''));
        else throw new ServiceError('InvalidFilterKey', `The sandbox filters parameters by Name, Path and Type, not ${filter.Key}.`);
      }
      const size = input.MaxResults ?? 10;
      const key = `ssm:DescribeParameters:${ctx.accountId}:${ctx.region}`;
      let start = 0;
      if (input.NextToken !== undefined) {
        const decoded = ctx.world.pageTokens.decode(key, input.NextToken);
        if (decoded === undefined) throw new ServiceError('InvalidNextToken', 'The specified token is not valid.');
        start = Number(decoded);
      }
      const page = all.slice(start, start + size);
      return {
        Parameters: page.map((p) => {
          const v = p.versions.at(-1) as ParameterVersion;
          return { Name: p.name, ARN: p.arn, Type: v.type, KeyId: v.keyArn, LastModifiedDate: v.lastModified, Description: v.description, Version: v.version, Tier: 'Standard', DataType: 'text' };
        }),
        NextToken: start + size < all.length ? ctx.world.pageTokens.encode(key, String(start + size)) : undefined,
      };
    },

    AddTagsToResource(input: AddTagsToResourceRequest, ctx): void {
      const parameter = taggable(ctx, input.ResourceType, input.ResourceId);
      for (const tag of input.Tags ?? []) parameter.tags = [...parameter.tags.filter((t) => t.Key !== tag.Key), tag];
    },

    ListTagsForResource(input: ListTagsForResourceRequest, ctx): ListTagsForResourceResult {
      return { TagList: taggable(ctx, input.ResourceType, input.ResourceId).tags };
    },
  },
});

/** `name`, `name:version`; a name with a slash must start with one; aws/ssm prefixes are reserved. */
function checkName(name: string): string {
  if (/^\/?(aws|ssm)/i.test(name)) throw new ServiceError('ValidationException', 'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive).', { status: 400 });
  if (name.includes('/') && !name.startsWith('/')) throw new ServiceError('ValidationException', 'Parameter name must be a fully qualified name.', { status: 400 });
  if (!/^[a-zA-Z0-9_.\-/]+$/.test(name)) throw new ServiceError('ValidationException', 'Parameter name: can only contain letters, numbers, and the symbols .-_/', { status: 400 });
  return name;
}

function read(ctx: RequestContext, selector: string, decrypt: boolean): Parameter {
  const colon = selector.lastIndexOf(':');
  const name = colon > 0 && !selector.startsWith('arn:') ? selector.slice(0, colon) : selector;
  const wanted = colon > 0 && !selector.startsWith('arn:') ? selector.slice(colon + 1) : undefined;
  const parameter = ctx.state(parametersOf).get(name);
  if (!parameter) throw new ServiceError('ParameterNotFound', `Parameter ${name} not found.`);
  const version = wanted === undefined ? parameter.versions.at(-1) : parameter.versions.find((v) => String(v.version) === wanted || v.labels.has(wanted));
  if (!version) throw new ServiceError('ParameterVersionNotFound', `Systems Manager could not find version ${wanted} of ${name}.`);
  let value: string;
  if (typeof version.value === 'string') value = version.value;
  else if (!decrypt) value = version.value.toString('base64');
  else value = kmsDecrypt(ctx.world, ctx, version.value, { PARAMETER_ARN: parameter.arn }).toString('utf8');
  return { Name: parameter.name, Type: version.type, Value: value, Version: version.version, Selector: wanted === undefined ? undefined : `:${wanted}`, LastModifiedDate: version.lastModified, ARN: parameter.arn, DataType: 'text' };
}

function taggable(ctx: RequestContext, type: string | undefined, id: string | undefined): StoredParameter {
  if (type !== 'Parameter') throw new ServiceError('InvalidResourceType', `The sandbox tags parameters only, not ${type}.`);
  const parameter = ctx.state(parametersOf).get(id ?? '');
  if (!parameter) throw new ServiceError('InvalidResourceId', `The resource ID ${id} is not valid.`);
  return parameter;
}

function arnOf(scope: { accountId: string; region: string }, name: string): string {
  return `arn:aws:ssm:${scope.region}:${scope.accountId}:parameter${name.startsWith('/') ? '' : '/'}${name}`;
}
