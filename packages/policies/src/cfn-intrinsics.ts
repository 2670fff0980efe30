import type { FieldPath } from '@orgshield/spec-files';
import { RE2JS } from 're2js';

/** What `Ref: AWS::NoValue` evaluates to: the property (or list item) is left out. */
export const NO_VALUE: unique symbol = Symbol('AWS::NoValue');

/** A template value that cannot be evaluated, and where it is. */
export class CfnEvaluationError extends Error {
  constructor(
    readonly path: FieldPath,
    message: string,
  ) {
    super(message);
  }
}

export interface CfnTemplateParts {
  Parameters?: Record<string, { Type?: string; Default?: unknown; AllowedValues?: unknown[]; AllowedPattern?: string }>;
  Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  Conditions?: Record<string, unknown>;
  Resources?: Record<string, { Type?: string }>;
}

/** Template expansion (text built by Join, Split, Sub, Base64, ToJsonString) allowed by default: 5 MB. */
export const DEFAULT_MAX_EXPANSION_BYTES = 5 * 1024 * 1024;

/** The template builds more text than its expansion limit allows: evaluation stops there. */
export class CfnExpansionLimitError extends CfnEvaluationError {}

export interface CfnEvaluationInputs {
  /** Parameter values, and pseudo-parameter values such as AWS::Region and AWS::AccountId. */
  params: Readonly<Record<string, string>>;
  /** Values of the template's other resources: `Logical.Attr` for Fn::GetAtt, `Logical` (or `Logical.Ref`) for Ref. */
  resolve: Readonly<Record<string, string>>;
  /** Most text the evaluation may build, all functions together; default DEFAULT_MAX_EXPANSION_BYTES. */
  maxExpansionBytes?: number;
  /**
   * Given, a value the user has to supply (a parameter without Default, a resource's value) is
   * handed here and evaluation goes on with a stand-in, so one run names every missing value.
   * Without it, the first missing value throws.
   */
  onMissing?: (problem: CfnEvaluationError) => void;
}

/** Stands in for a value the user has not supplied yet (see CfnEvaluationInputs.onMissing). */
export const MISSING_VALUE = '\u0000missing';

const PSEUDO_PARAMETERS = ['AWS::AccountId', 'AWS::Region', 'AWS::Partition', 'AWS::StackName', 'AWS::StackId', 'AWS::URLSuffix', 'AWS::NotificationARNs', 'AWS::NoValue'];

/**
 * Evaluates CloudFormation intrinsic functions (long forms; the YAML short forms were turned
 * into them at parse time) over the template's parameters, mappings, conditions and pseudo
 * parameters. Other resources only exist at deploy time, so their values come from `resolve`;
 * one that is needed and missing is an error naming the `--resolve` to add.
 */
export class CfnEvaluator {
  private readonly conditionValues = new Map<string, boolean>();
  private readonly conditionsInProgress = new Set<string>();
  private readonly patterns = new Map<string, RE2JS>();
  private expansionLeft: number;
  private readonly maxExpansionBytes: number;

  constructor(
    private readonly template: CfnTemplateParts,
    private readonly inputs: CfnEvaluationInputs,
  ) {
    this.maxExpansionBytes = inputs.maxExpansionBytes ?? DEFAULT_MAX_EXPANSION_BYTES;
    this.expansionLeft = this.maxExpansionBytes;
  }

  /**
   * Every parameter's AllowedPattern that is not a regular expression, each at its place in
   * Parameters. Patterns run on RE2 (linear time, so a template cannot stall the import with
   * a catastrophic pattern); RE2 has no lookaround or backreferences, and says so.
   */
  parameterProblems(): CfnEvaluationError[] {
    const problems: CfnEvaluationError[] = [];
    const parameters = this.template.Parameters;
    if (!isRecord(parameters)) return problems;
    for (const [name, parameter] of Object.entries(parameters)) {
      if (!isRecord(parameter) || parameter.AllowedPattern === undefined) continue;
      try {
        this.pattern(name, parameter.AllowedPattern);
      } catch (error) {
        if (!(error instanceof CfnEvaluationError)) throw error;
        problems.push(error);
      }
    }
    return problems;
  }

  evaluate(value: unknown, path: FieldPath): unknown {
    if (Array.isArray(value)) {
      return value.map((item, index) => this.evaluate(item, [...path, index])).filter((item) => item !== NO_VALUE);
    }
    if (!isRecord(value)) return value;
    const keys = Object.keys(value);
    const [key] = keys;
    if (keys.length === 1 && key !== undefined && (key === 'Ref' || key.startsWith('Fn::'))) return this.intrinsic(key, value[key], [...path, key]);
    const result: Record<string, unknown> = {};
    for (const [member, item] of Object.entries(value)) {
      const evaluated = this.evaluate(item, [...path, member]);
      // defineProperty: a `__proto__` key is data, never the result's prototype.
      if (evaluated !== NO_VALUE) Object.defineProperty(result, member, { value: evaluated, enumerable: true, writable: true, configurable: true });
    }
    return result;
  }

  /** The value of a named condition (the Conditions section), evaluated once. */
  condition(name: string, path: FieldPath): boolean {
    const known = this.conditionValues.get(name);
    if (known !== undefined) return known;
    const definition = own(this.template.Conditions, name);
    if (definition === undefined) throw new CfnEvaluationError(path, `condition ${name} is not defined in the template's Conditions`);
    if (this.conditionsInProgress.has(name)) throw new CfnEvaluationError(path, `condition ${name} refers to itself`);
    this.conditionsInProgress.add(name);
    const value = this.conditionValue(definition, ['Conditions', name]);
    this.conditionsInProgress.delete(name);
    this.conditionValues.set(name, value);
    return value;
  }

  private conditionValue(node: unknown, path: FieldPath): boolean {
    if (isRecord(node) && Object.keys(node).length === 1 && typeof node.Condition === 'string') return this.condition(node.Condition, path);
    const value = this.evaluate(node, path);
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 'false') return value === 'true';
    throw new CfnEvaluationError(path, `a condition must be Fn::Equals, Fn::And, Fn::Or, Fn::Not or a Condition, not ${describe(value)}`);
  }

  private intrinsic(name: string, argument: unknown, path: FieldPath): unknown {
    switch (name) {
      case 'Ref':
        return this.ref(this.text(this.evaluate(argument, path), path, 'Ref'), path);
      case 'Fn::GetAtt':
        return this.getAtt(argument, path);
      case 'Fn::Sub':
        return this.sub(argument, path);
      case 'Fn::Join': {
        const [delimiter, list] = this.args(argument, 2, path, 'Fn::Join');
        const items = this.list(this.evaluate(list, [...path, 1]), [...path, 1], 'Fn::Join').map((item, index) => this.text(item, [...path, 1, index], 'Fn::Join'));
        const separator = this.text(this.evaluate(delimiter, [...path, 0]), path, 'Fn::Join');
        this.expand(items.reduce((sum, item) => sum + item.length, separator.length * Math.max(0, items.length - 1)), path, 'Fn::Join');
        return items.join(separator);
      }
      case 'Fn::Select': {
        const [index, list] = this.args(argument, 2, path, 'Fn::Select');
        const evaluatedIndex = this.evaluate(index, [...path, 0]);
        const position = typeof evaluatedIndex === 'number' || typeof evaluatedIndex === 'string' ? Number(evaluatedIndex) : Number.NaN;
        const items = this.list(this.evaluate(list, [...path, 1]), [...path, 1], 'Fn::Select');
        if (!Number.isInteger(position) || position < 0 || position >= items.length) {
          throw new CfnEvaluationError(path, `Fn::Select index ${describe(evaluatedIndex)} is outside a list of ${items.length}`);
        }
        return items[position];
      }
      case 'Fn::Split': {
        const [delimiter, source] = this.args(argument, 2, path, 'Fn::Split');
        const separator = this.text(this.evaluate(delimiter, [...path, 0]), [...path, 0], 'Fn::Split');
        const text = this.text(this.evaluate(source, [...path, 1]), [...path, 1], 'Fn::Split');
        // Each piece is a string of its own: an empty delimiter makes one per character.
        this.expand(text.length + 16 * (separator === '' ? text.length : countOf(text, separator) + 1), path, 'Fn::Split');
        return text.split(separator);
      }
      case 'Fn::If': {
        const [condition, whenTrue, whenFalse] = this.args(argument, 3, path, 'Fn::If');
        const chosen = this.condition(this.text(condition, [...path, 0], 'Fn::If'), [...path, 0]);
        return chosen ? this.evaluate(whenTrue, [...path, 1]) : this.evaluate(whenFalse, [...path, 2]);
      }
      case 'Fn::Equals': {
        const [left, right] = this.args(argument, 2, path, 'Fn::Equals');
        return JSON.stringify(this.evaluate(left, [...path, 0])) === JSON.stringify(this.evaluate(right, [...path, 1]));
      }
      case 'Fn::Not': {
        const [operand] = this.args(argument, 1, path, 'Fn::Not');
        return !this.conditionValue(operand, [...path, 0]);
      }
      case 'Fn::And':
      case 'Fn::Or': {
        const operands = this.list(argument, path, name).map((operand, index) => this.conditionValue(operand, [...path, index]));
        return name === 'Fn::And' ? operands.every(Boolean) : operands.some(Boolean);
      }
      case 'Fn::FindInMap': {
        const [map, top, second] = this.args(argument, 3, path, 'Fn::FindInMap').map((part, index) => this.text(this.evaluate(part, [...path, index]), [...path, index], 'Fn::FindInMap'));
        // Own members only: `!FindInMap [M, constructor, name]` must not find Object's prototype.
        const value = own(own(own(this.template.Mappings, map ?? ''), top ?? ''), second ?? '');
        if (value === undefined) throw new CfnEvaluationError(path, `Mappings has no ${map}.${top}.${second}`);
        return value;
      }
      case 'Fn::Base64': {
        const text = this.text(this.evaluate(argument, path), path, 'Fn::Base64');
        this.expand(Math.ceil((Buffer.byteLength(text) * 4) / 3), path, 'Fn::Base64');
        return Buffer.from(text).toString('base64');
      }
      case 'Fn::ToJsonString': {
        const value = this.evaluate(argument, path);
        if (value === NO_VALUE) throw new CfnEvaluationError(path, 'Fn::ToJsonString needs a value here, not AWS::NoValue');
        const text = JSON.stringify(value);
        this.expand(text.length, path, 'Fn::ToJsonString');
        return text;
      }
      case 'Fn::Length':
        return this.list(this.evaluate(argument, path), path, 'Fn::Length').length;
      default:
        throw new CfnEvaluationError(path, `${name} cannot be evaluated without deploying the template; replace it with a parameter`);
    }
  }

  private ref(name: string, path: FieldPath): unknown {
    if (name === 'AWS::NoValue') return NO_VALUE;
    const given = own(this.inputs.params, name);
    if (PSEUDO_PARAMETERS.includes(name)) return given ?? this.pseudoDefault(name, path);
    const parameter = own(this.template.Parameters, name);
    if (isRecord(parameter)) {
      const value = given ?? parameter.Default;
      const isList = isListType(parameter.Type);
      if (value === undefined) return this.missing(path, `parameter ${name} has no Default; pass --param ${name}=VALUE`, isList);
      const text = scalarText(value);
      if (text === undefined) throw new CfnEvaluationError(['Parameters', name, 'Default'], `parameter ${name}'s Default must be a string (a list is written "a,b"), not ${describe(value)}`);
      return this.parameterValue(name, text, parameter, path);
    }
    if (own(this.template.Resources, name) !== undefined) {
      const resolved = own(this.inputs.resolve, name) ?? own(this.inputs.resolve, `${name}.Ref`);
      return resolved ?? this.missing(path, `Ref ${name} is a resource the template creates; pass --resolve ${name}=VALUE`);
    }
    throw new CfnEvaluationError(path, `Ref ${name} is not a parameter, resource or pseudo parameter of the template`);
  }

  private pseudoDefault(name: string, path: FieldPath): unknown {
    // Partition and URL suffix follow from the region when it is known, as they do in AWS.
    const region = own(this.inputs.params, 'AWS::Region') ?? '';
    if (name === 'AWS::Partition') return region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
    if (name === 'AWS::URLSuffix') return region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
    if (name === 'AWS::Region') return this.missing(path, "AWS::Region, the stack's region, is not set: set AWS_REGION or pass --param AWS::Region=REGION");
    return this.missing(path, `${name} has no value outside a stack; pass --param ${name}=VALUE`, name === 'AWS::NotificationARNs');
  }

  /** A value only the user can supply: thrown, or (with onMissing) noted and stood in for. */
  private missing(path: FieldPath, message: string, isList = false): unknown {
    const problem = new CfnEvaluationError(path, message);
    if (!this.inputs.onMissing) throw problem;
    this.inputs.onMissing(problem);
    return isList ? [MISSING_VALUE] : MISSING_VALUE;
  }

  private parameterValue(name: string, value: string, parameter: Record<string, unknown>, path: FieldPath): unknown {
    const allowed = parameter.AllowedValues;
    if (Array.isArray(allowed)) {
      const texts = allowed.map(scalarText);
      if (texts.some((text) => text === undefined)) {
        throw new CfnEvaluationError(['Parameters', name, 'AllowedValues'], `parameter ${name}'s AllowedValues must be strings, not ${describe(allowed)}`);
      }
      if (!texts.includes(value)) throw new CfnEvaluationError(path, `parameter ${name} is ${JSON.stringify(value)}, not one of its AllowedValues ${texts.join(', ')}`);
    }
    const pattern = this.pattern(name, parameter.AllowedPattern);
    if (pattern && !pattern.matches(value)) {
      throw new CfnEvaluationError(path, `parameter ${name} is ${JSON.stringify(value)}, which does not match its AllowedPattern`);
    }
    return isListType(parameter.Type) ? value.split(',').map((item) => item.trim()) : value;
  }

  /** The parameter's AllowedPattern on RE2, compiled once; a bad one is an error at its place in Parameters. */
  private pattern(name: string, source: unknown): RE2JS | undefined {
    if (source === undefined) return undefined;
    const known = this.patterns.get(name);
    if (known) return known;
    const path = ['Parameters', name, 'AllowedPattern'];
    if (typeof source !== 'string') throw new CfnEvaluationError(path, `parameter ${name} has an AllowedPattern that is not a string: ${describe(source)}`);
    let compiled: RE2JS;
    try {
      compiled = RE2JS.compile(source);
    } catch (error) {
      throw new CfnEvaluationError(path, `parameter ${name} has an AllowedPattern that is not a valid regular expression (${(error as Error).message})`);
    }
    this.patterns.set(name, compiled);
    return compiled;
  }

  /** Charges text the template builds against its expansion limit, before it is built. */
  private expand(bytes: number, path: FieldPath, name: string): void {
    this.expansionLeft -= bytes;
    if (this.expansionLeft < 0) {
      const mb = this.maxExpansionBytes / (1024 * 1024);
      const limit = mb >= 1 ? `${Math.round(mb * 100) / 100} MB` : `${this.maxExpansionBytes} bytes`;
      throw new CfnExpansionLimitError(
        path,
        `${name} takes the template's expansion past its limit of ${limit} of built text; if the template is trusted, raise the limit with --max-expansion-mb`,
      );
    }
  }

  private getAtt(argument: unknown, path: FieldPath): string {
    const evaluated = typeof argument === 'string' ? argument.split(/\.(.*)/s).slice(0, 2) : this.list(this.evaluate(argument, path), path, 'Fn::GetAtt');
    const [resource, attribute] = evaluated.map((part) => this.text(part, path, 'Fn::GetAtt'));
    if (!resource || !attribute) throw new CfnEvaluationError(path, 'Fn::GetAtt takes a resource and an attribute');
    return this.attribute(resource, attribute, path);
  }

  private attribute(resource: string, attribute: string, path: FieldPath): string {
    if (own(this.template.Resources, resource) === undefined) {
      throw new CfnEvaluationError(path, `Fn::GetAtt ${resource}.${attribute}: ${resource} is not a resource of the template`);
    }
    const resolved = own(this.inputs.resolve, `${resource}.${attribute}`);
    if (resolved !== undefined) return resolved;
    return this.missing(path, `${resource}.${attribute} is only known once ${resource} is deployed; pass --resolve ${resource}.${attribute}=VALUE`) as string;
  }

  private sub(argument: unknown, path: FieldPath): string {
    const [template, variables] = Array.isArray(argument) ? this.args(argument, 2, path, 'Fn::Sub') : [argument, {}];
    const text = this.text(template, path, 'Fn::Sub');
    if (!isRecord(variables)) throw new CfnEvaluationError(path, 'the second argument of Fn::Sub is a map of variables');
    // Built piece by piece so the expansion limit stops `${Big}${Big}...` before it is in memory.
    const pieces: string[] = [];
    const reference = /\$\{([^}]*)\}/g;
    let last = 0;
    for (let match = reference.exec(text); match; match = reference.exec(text)) {
      const inner = match[1] ?? '';
      const piece = inner.startsWith('!') ? `\${${inner.slice(1)}}` : this.subValue(inner.trim(), variables, path); // ${!Literal} writes ${Literal} itself.
      this.expand(match.index - last + piece.length, path, 'Fn::Sub');
      pieces.push(text.slice(last, match.index), piece);
      last = match.index + match[0].length;
    }
    pieces.push(text.slice(last));
    return pieces.join('');
  }

  private subValue(name: string, variables: Record<string, unknown>, path: FieldPath): string {
    if (Object.hasOwn(variables, name)) return this.text(this.evaluate(variables[name], [...path, 1, name]), path, 'Fn::Sub');
    const dot = name.indexOf('.');
    const value = dot > 0 && !name.startsWith('AWS::') ? this.attribute(name.slice(0, dot), name.slice(dot + 1), path) : this.ref(name, path);
    return this.text(value, path, 'Fn::Sub');
  }

  private args(argument: unknown, count: number, path: FieldPath, name: string): unknown[] {
    if (!Array.isArray(argument) || argument.length !== count) {
      throw new CfnEvaluationError(path, `${name} takes a list of ${count} argument${count > 1 ? 's' : ''}`);
    }
    return argument;
  }

  private list(value: unknown, path: FieldPath, name: string): unknown[] {
    if (!Array.isArray(value)) throw new CfnEvaluationError(path, `${name} needs a list here, not ${describe(value)}`);
    return value;
  }

  private text(value: unknown, path: FieldPath, name: string): string {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    throw new CfnEvaluationError(path, `${name} needs a string here, not ${describe(value)}`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A member of a map from the template or the command line: its own members only, never Object.prototype's. */
function own<T>(map: Readonly<Record<string, T>> | undefined, key: string): T | undefined;
function own(map: unknown, key: string): unknown;
function own(map: unknown, key: string): unknown {
  return isRecord(map) && Object.hasOwn(map, key) ? map[key] : undefined;
}

function isListType(type: unknown): boolean {
  return type === 'CommaDelimitedList' || (typeof type === 'string' && type.startsWith('List<'));
}

function countOf(text: string, separator: string): number {
  let count = 0;
  for (let at = text.indexOf(separator); at >= 0; at = text.indexOf(separator, at + separator.length)) count += 1;
  return count;
}

/** A value as an error message shows it: short, and AWS::NoValue by name. */
function describe(value: unknown): string {
  if (value === NO_VALUE) return 'AWS::NoValue';
  if (value === MISSING_VALUE) return 'a value still to be supplied';
  const text = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** A parameter value as CloudFormation takes it: a string, or a number or boolean YAML read as one. Anything else has no text. */
function scalarText(value: unknown): string | undefined {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' ? String(value) : undefined;
}
