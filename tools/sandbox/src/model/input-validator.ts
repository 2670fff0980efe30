import type { ServiceModel, Shape } from './service-model.js';

/**
 * Model-driven input validation, compiled once per shape into closures so a request costs one
 * walk over its input. Constraints: required members, types, enums, lengths, numeric ranges and
 * patterns. A pattern must match the whole value, as the services check it (STS refuses the
 * session name `a b` although `[\w+=,.@-]*` matches a part of it); a pattern that does not
 * compile as a JavaScript regular expression is skipped.
 */
export type FailureKind = 'required' | 'type' | 'enum' | 'pattern' | 'minLength' | 'maxLength' | 'min' | 'max';

export interface ValidationFailure {
  /** AWS's spelling: lowerCamel member names, list items as `tags.1.member.key`. */
  path: string;
  kind: FailureKind;
  /** The constraint in AWS's words, e.g. `Member must have length less than or equal to 12`. */
  constraint: string;
  value: unknown;
  sensitive: boolean;
}

export type InputValidator = (input: unknown) => ValidationFailure[];

type Check = (value: unknown, path: string, failures: ValidationFailure[]) => void;

export class ValidatorCompiler {
  private readonly checks = new Map<string, Check>();

  constructor(private readonly model: ServiceModel) {}

  compile(shapeName: string): InputValidator {
    const check = this.check(shapeName);
    return (input) => {
      const failures: ValidationFailure[] = [];
      check(input ?? {}, '', failures);
      return failures;
    };
  }

  private check(shapeName: string): Check {
    const cached = this.checks.get(shapeName);
    if (cached) return cached;
    // Recursive shapes (a structure that contains itself) resolve through this indirection.
    const slot: { check?: Check } = {};
    this.checks.set(shapeName, (value, path, failures) => slot.check?.(value, path, failures));
    const shape = this.model.shapes[shapeName];
    const compiled: Check = shape ? this.compileShape(shape) : () => undefined;
    slot.check = compiled;
    this.checks.set(shapeName, compiled);
    return compiled;
  }

  private compileShape(shape: Shape): Check {
    switch (shape.type) {
      case 'structure':
        return this.compileStructure(shape);
      case 'list':
        return this.compileList(shape);
      case 'map':
        return this.compileMap(shape);
      case 'string':
        return compileString(shape);
      case 'integer':
      case 'long':
        return compileNumber(shape, true);
      case 'float':
      case 'double':
        return compileNumber(shape, false);
      case 'boolean':
        return typeCheck((v) => typeof v === 'boolean', 'Member must be a boolean', shape);
      case 'timestamp':
        return typeCheck((v) => v instanceof Date && !Number.isNaN(v.getTime()), 'Member must be a timestamp', shape);
      case 'blob':
        return compileBlob(shape);
      default:
        return () => undefined;
    }
  }

  private compileStructure(shape: Shape): Check {
    if (shape.document) return () => undefined;
    const members = Object.entries(shape.members ?? {}).map(([name, ref]) => ({
      name,
      pathName: lowerCamel(name),
      // Streaming payloads (S3 object bodies) are bytes on the wire, not a value to validate.
      check: ref.streaming || this.model.shapes[ref.shape]?.streaming ? undefined : this.check(ref.shape),
      required: shape.required?.includes(name) ?? false,
      sensitive: this.model.shapes[ref.shape]?.sensitive === true,
    }));
    return (value, path, failures) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        failures.push(failure(path, 'type', 'Member must be a structure', value, false));
        return;
      }
      const record = value as Record<string, unknown>;
      for (const member of members) {
        const memberValue = record[member.name];
        const memberPath = path === '' ? member.pathName : `${path}.${member.pathName}`;
        if (memberValue === undefined || memberValue === null) {
          if (member.required) failures.push(failure(memberPath, 'required', 'Member must not be null', null, member.sensitive));
        } else {
          member.check?.(memberValue, memberPath, failures);
        }
      }
    };
  }

  private compileList(shape: Shape): Check {
    const item = shape.member ? this.check(shape.member.shape) : undefined;
    const size = sizeChecks(shape);
    return (value, path, failures) => {
      if (!Array.isArray(value)) {
        failures.push(failure(path, 'type', 'Member must be a list', value, false));
        return;
      }
      size(value.length, value, path, failures);
      if (item) for (let i = 0; i < value.length; i++) item(value[i], `${path}.${i + 1}.member`, failures);
    };
  }

  private compileMap(shape: Shape): Check {
    const key = shape.key ? this.check(shape.key.shape) : undefined;
    const entry = shape.value ? this.check(shape.value.shape) : undefined;
    const size = sizeChecks(shape);
    return (value, path, failures) => {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        failures.push(failure(path, 'type', 'Member must be a map', value, false));
        return;
      }
      const entries = Object.entries(value);
      size(entries.length, value, path, failures);
      for (const [k, v] of entries) {
        key?.(k, `${path}.key`, failures);
        entry?.(v, `${path}.${k}`, failures);
      }
    };
  }
}

function compileString(shape: Shape): Check {
  const enumValues = shape.enum;
  const enumSet = enumValues ? new Set(enumValues) : undefined;
  const pattern = shape.pattern === undefined ? undefined : compilePattern(shape.pattern);
  const sensitive = shape.sensitive === true;
  const { min, max } = shape;
  return (value, path, failures) => {
    if (typeof value !== 'string') {
      failures.push(failure(path, 'type', 'Member must be a string', value, sensitive));
      return;
    }
    if (min !== undefined || max !== undefined) {
      const length = value.length > (max ?? Infinity) || value.length < (min ?? 0) ? [...value].length : value.length;
      if (max !== undefined && length > max) failures.push(failure(path, 'maxLength', `Member must have length less than or equal to ${max}`, value, sensitive));
      if (min !== undefined && length < min) failures.push(failure(path, 'minLength', `Member must have length greater than or equal to ${min}`, value, sensitive));
    }
    if (enumSet && !enumSet.has(value)) {
      failures.push(failure(path, 'enum', `Member must satisfy enum value set: [${enumValues?.join(', ')}]`, value, sensitive));
    }
    if (pattern && !pattern.test(value)) {
      failures.push(failure(path, 'pattern', `Member must satisfy regular expression pattern: ${shape.pattern}`, value, sensitive));
    }
  };
}

function compileNumber(shape: Shape, integer: boolean): Check {
  const { min, max } = shape;
  const sensitive = shape.sensitive === true;
  return (value, path, failures) => {
    if (typeof value !== 'number' || Number.isNaN(value) || (integer && !Number.isInteger(value))) {
      failures.push(failure(path, 'type', integer ? 'Member must be an integer' : 'Member must be a number', value, sensitive));
      return;
    }
    if (max !== undefined && value > max) failures.push(failure(path, 'max', `Member must have value less than or equal to ${max}`, value, sensitive));
    if (min !== undefined && value < min) failures.push(failure(path, 'min', `Member must have value greater than or equal to ${min}`, value, sensitive));
  };
}

function compileBlob(shape: Shape): Check {
  const size = sizeChecks(shape);
  return (value, path, failures) => {
    if (typeof value === 'string') size(Buffer.byteLength(value), value, path, failures);
    else if (value instanceof Uint8Array) size(value.byteLength, value, path, failures);
    else failures.push(failure(path, 'type', 'Member must be a blob', value, shape.sensitive === true));
  };
}

function sizeChecks(shape: Shape): (size: number, value: unknown, path: string, failures: ValidationFailure[]) => void {
  const { min, max } = shape;
  const sensitive = shape.sensitive === true;
  return (size, value, path, failures) => {
    if (max !== undefined && size > max) failures.push(failure(path, 'maxLength', `Member must have length less than or equal to ${max}`, value, sensitive));
    if (min !== undefined && size < min) failures.push(failure(path, 'minLength', `Member must have length greater than or equal to ${min}`, value, sensitive));
  };
}

function typeCheck(ok: (value: unknown) => boolean, constraint: string, shape: Shape): Check {
  return (value, path, failures) => {
    if (!ok(value)) failures.push(failure(path, 'type', constraint, value, shape.sensitive === true));
  };
}

/** Model patterns, anchored at both ends; some need the `u` flag, some only compile without it. */
export function compilePattern(pattern: string): RegExp | undefined {
  for (const flags of ['u', '']) {
    try {
      return new RegExp(`^(?:${pattern})$`, flags);
    } catch {
      // try the next flag set; a pattern that compiles under neither is not enforced
    }
  }
  return undefined;
}

function failure(path: string, kind: FailureKind, constraint: string, value: unknown, sensitive: boolean): ValidationFailure {
  return { path, kind, constraint, value, sensitive };
}

function lowerCamel(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/** AWS's message: `1 validation error detected: Value 'x' at 'accountId' failed to satisfy constraint: ...`. */
export function validationMessage(failures: readonly ValidationFailure[]): string {
  const count = failures.length;
  const parts = failures.map((f) => {
    const shown = f.sensitive ? '' : ` ${describeValue(f.value)}`;
    return `Value${shown} at '${f.path}' failed to satisfy constraint: ${f.constraint}`;
  });
  return `${count} validation error${count === 1 ? '' : 's'} detected: ${parts.join('; ')}`;
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return `'${value.length > 200 ? `${value.slice(0, 200)}...` : value}'`;
  if (typeof value === 'number' || typeof value === 'boolean') return `'${value}'`;
  if (Array.isArray(value)) return `'[${value.length} items]'`;
  return `'${JSON.stringify(value)?.slice(0, 200)}'`;
}
