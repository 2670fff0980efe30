import type { FieldPath } from '@orgshield/spec-files';

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

export interface CfnEvaluationInputs {
  /** Parameter values, and pseudo-parameter values such as AWS::Region and AWS::AccountId. */
  params: Readonly<Record<string, string>>;
  /** Values of the template's other resources: `Logical.Attr` for Fn::GetAtt, `Logical` (or `Logical.Ref`) for Ref. */
  resolve: Readonly<Record<string, string>>;
}

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

  constructor(
    private readonly template: CfnTemplateParts,
    private readonly inputs: CfnEvaluationInputs,
  ) {}

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
      if (evaluated !== NO_VALUE) result[member] = evaluated;
    }
    return result;
  }

  /** The value of a named condition (the Conditions section), evaluated once. */
  condition(name: string, path: FieldPath): boolean {
    const known = this.conditionValues.get(name);
    if (known !== undefined) return known;
    const definition = this.template.Conditions?.[name];
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
    throw new CfnEvaluationError(path, `a condition must be Fn::Equals, Fn::And, Fn::Or, Fn::Not or a Condition, not ${JSON.stringify(value)}`);
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
        const items = this.list(this.evaluate(list, [...path, 1]), [...path, 1], 'Fn::Join');
        return items.map((item, index) => this.text(item, [...path, 1, index], 'Fn::Join')).join(this.text(this.evaluate(delimiter, [...path, 0]), path, 'Fn::Join'));
      }
      case 'Fn::Select': {
        const [index, list] = this.args(argument, 2, path, 'Fn::Select');
        const position = Number(this.evaluate(index, [...path, 0]));
        const items = this.list(this.evaluate(list, [...path, 1]), [...path, 1], 'Fn::Select');
        if (!Number.isInteger(position) || position < 0 || position >= items.length) {
          throw new CfnEvaluationError(path, `Fn::Select index ${String(index)} is outside a list of ${items.length}`);
        }
        return items[position];
      }
      case 'Fn::Split': {
        const [delimiter, source] = this.args(argument, 2, path, 'Fn::Split');
        return this.text(this.evaluate(source, [...path, 1]), [...path, 1], 'Fn::Split').split(this.text(this.evaluate(delimiter, [...path, 0]), [...path, 0], 'Fn::Split'));
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
        const value = this.template.Mappings?.[map ?? '']?.[top ?? '']?.[second ?? ''];
        if (value === undefined) throw new CfnEvaluationError(path, `Mappings has no ${map}.${top}.${second}`);
        return value;
      }
      case 'Fn::Base64':
        return Buffer.from(this.text(this.evaluate(argument, path), path, 'Fn::Base64')).toString('base64');
      case 'Fn::ToJsonString':
        return JSON.stringify(this.evaluate(argument, path));
      case 'Fn::Length':
        return this.list(this.evaluate(argument, path), path, 'Fn::Length').length;
      default:
        throw new CfnEvaluationError(path, `${name} cannot be evaluated without deploying the template; replace it with a parameter`);
    }
  }

  private ref(name: string, path: FieldPath): unknown {
    if (name === 'AWS::NoValue') return NO_VALUE;
    const given = this.inputs.params[name];
    if (PSEUDO_PARAMETERS.includes(name)) return given ?? this.pseudoDefault(name, path);
    const parameter = this.template.Parameters?.[name];
    if (parameter) {
      const value = given ?? parameter.Default;
      if (value === undefined) throw new CfnEvaluationError(path, `parameter ${name} has no Default; pass --param ${name}=VALUE`);
      return this.parameterValue(name, String(value), parameter, path);
    }
    if (this.template.Resources?.[name]) {
      const resolved = this.inputs.resolve[name] ?? this.inputs.resolve[`${name}.Ref`];
      if (resolved === undefined) throw new CfnEvaluationError(path, `Ref ${name} is a resource the template creates; pass --resolve ${name}=VALUE`);
      return resolved;
    }
    throw new CfnEvaluationError(path, `Ref ${name} is not a parameter, resource or pseudo parameter of the template`);
  }

  private pseudoDefault(name: string, path: FieldPath): string {
    // Partition and URL suffix follow from the region when it is known, as they do in AWS.
    const region = this.inputs.params['AWS::Region'] ?? '';
    if (name === 'AWS::Partition') return region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
    if (name === 'AWS::URLSuffix') return region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com';
    throw new CfnEvaluationError(path, `${name} has no value outside a stack; pass --param ${name}=VALUE`);
  }

  private parameterValue(name: string, value: string, parameter: NonNullable<CfnTemplateParts['Parameters']>[string], path: FieldPath): unknown {
    if (parameter.AllowedValues && !parameter.AllowedValues.map(String).includes(value)) {
      throw new CfnEvaluationError(path, `parameter ${name} is ${JSON.stringify(value)}, not one of its AllowedValues ${parameter.AllowedValues.join(', ')}`);
    }
    if (parameter.AllowedPattern && !new RegExp(`^(?:${parameter.AllowedPattern})$`).test(value)) {
      throw new CfnEvaluationError(path, `parameter ${name} is ${JSON.stringify(value)}, which does not match its AllowedPattern`);
    }
    const type = parameter.Type ?? 'String';
    const isList = type === 'CommaDelimitedList' || type.startsWith('List<');
    return isList ? value.split(',').map((item) => item.trim()) : value;
  }

  private getAtt(argument: unknown, path: FieldPath): string {
    const evaluated = typeof argument === 'string' ? argument.split(/\.(.*)/s).slice(0, 2) : this.list(this.evaluate(argument, path), path, 'Fn::GetAtt');
    const [resource, attribute] = evaluated.map((part) => this.text(part, path, 'Fn::GetAtt'));
    if (!resource || !attribute) throw new CfnEvaluationError(path, 'Fn::GetAtt takes a resource and an attribute');
    return this.attribute(resource, attribute, path);
  }

  private attribute(resource: string, attribute: string, path: FieldPath): string {
    if (!this.template.Resources?.[resource]) throw new CfnEvaluationError(path, `Fn::GetAtt ${resource}.${attribute}: ${resource} is not a resource of the template`);
    const resolved = this.inputs.resolve[`${resource}.${attribute}`];
    if (resolved === undefined) {
      throw new CfnEvaluationError(path, `${resource}.${attribute} is only known once ${resource} is deployed; pass --resolve ${resource}.${attribute}=VALUE`);
    }
    return resolved;
  }

  private sub(argument: unknown, path: FieldPath): string {
    const [template, variables] = Array.isArray(argument) ? this.args(argument, 2, path, 'Fn::Sub') : [argument, {}];
    const text = this.text(template, path, 'Fn::Sub');
    if (!isRecord(variables)) throw new CfnEvaluationError(path, 'the second argument of Fn::Sub is a map of variables');
    return text.replace(/\$\{([^}]*)\}/g, (_match, inner: string) => {
      // ${!Literal} writes ${Literal} itself.
      if (inner.startsWith('!')) return `\${${inner.slice(1)}}`;
      const name = inner.trim();
      if (name in variables) return this.text(this.evaluate(variables[name], [...path, 1, name]), path, 'Fn::Sub');
      const dot = name.indexOf('.');
      const value = dot > 0 && !name.startsWith('AWS::') ? this.attribute(name.slice(0, dot), name.slice(dot + 1), path) : this.ref(name, path);
      return this.text(value, path, 'Fn::Sub');
    });
  }

  private args(argument: unknown, count: number, path: FieldPath, name: string): unknown[] {
    if (!Array.isArray(argument) || argument.length !== count) {
      throw new CfnEvaluationError(path, `${name} takes a list of ${count} argument${count > 1 ? 's' : ''}`);
    }
    return argument;
  }

  private list(value: unknown, path: FieldPath, name: string): unknown[] {
    if (!Array.isArray(value)) throw new CfnEvaluationError(path, `${name} needs a list here, not ${JSON.stringify(value)}`);
    return value;
  }

  private text(value: unknown, path: FieldPath, name: string): string {
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean') return String(value);
    throw new CfnEvaluationError(path, `${name} needs a string here, not ${value === NO_VALUE ? 'AWS::NoValue' : JSON.stringify(value)}`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
