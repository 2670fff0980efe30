import { validationMessage, ValidatorCompiler, type InputValidator, type ValidationFailure } from './model/input-validator.js';
import { loadServiceModel, type OperationModel, type ServiceModel } from './model/service-model.js';
import { AwsJsonProtocol } from './protocols/aws-json.js';
import { QueryProtocol } from './protocols/aws-query.js';
import type { CommonError, Protocol } from './protocols/protocol.js';
import { RestJsonProtocol } from './protocols/rest-json.js';
import { RestXmlProtocol } from './protocols/rest-xml.js';
import type { Handler, ServiceDefinition } from './service-definition.js';
import { ServiceError } from './service-error.js';

/** Errors an operation may declare for bad input, in the order a service would pick them. */
const VALIDATION_ERRORS = ['ValidationException', 'InvalidInputException', 'BadRequestException', 'InvalidRequestException', 'InvalidParameterException'];
const THROTTLING_ERRORS = ['TooManyRequestsException', 'ThrottlingException', 'ThrottledException'];

export interface OperationRuntime {
  readonly model: OperationModel;
  readonly handler: Handler | undefined;
  readonly validate: InputValidator;
  /** The error this operation answers when over its rate, and for an injected 5xx. */
  readonly throttlingError: () => ServiceError;
  readonly internalError: () => ServiceError;
}

/**
 * A service definition with its model, loaded on first use, and what is compiled from it per
 * operation (validator, error choices), so no request re-reads the model.
 */
export class ServiceRuntime {
  private loaded: { model: ServiceModel; protocol: Protocol; validators: ValidatorCompiler } | undefined;
  private readonly operations = new Map<string, OperationRuntime>();

  constructor(readonly definition: ServiceDefinition) {}

  get name(): string {
    return this.definition.signingName;
  }

  get model(): ServiceModel {
    return this.load().model;
  }

  get protocol(): Protocol {
    return this.load().protocol;
  }

  operation(name: string): OperationRuntime | undefined {
    let runtime = this.operations.get(name);
    if (runtime) return runtime;
    const model = this.model.operations[name];
    if (!model) return undefined;
    runtime = this.compile(model);
    this.operations.set(name, runtime);
    return runtime;
  }

  commonError(kind: CommonError, message?: string): ServiceError {
    const spec = this.protocol.commonError(kind);
    return new ServiceError(spec.code, message ?? spec.message, { status: spec.status });
  }

  validationError(operation: OperationModel, failures: readonly ValidationFailure[]): ServiceError {
    const message = validationMessage(failures);
    const fields = this.definition.validationErrorFields?.(failures);
    const declared = declaredError(operation, VALIDATION_ERRORS) ?? this.definition.validationError;
    if (declared) return new ServiceError(declared, message, { fields });
    // EC2 tells a missing parameter from a bad one.
    if (this.protocol.name === 'ec2' && failures[0]?.kind === 'required') {
      return new ServiceError('MissingParameter', message, { status: 400 });
    }
    return this.commonError('validation', message);
  }

  private compile(model: OperationModel): OperationRuntime {
    const { validators } = this.load();
    const validate = model.input ? validators.compile(model.input.shape) : () => [];
    const throttling = declaredError(model, THROTTLING_ERRORS);
    const fault = (model.errors ?? []).find(({ shape }) => {
      const s = this.model.shapes[shape];
      return s?.fault === true || (s?.error?.httpStatusCode ?? 0) >= 500;
    })?.shape;
    return {
      model,
      handler: Object.hasOwn(this.definition.handlers, model.name) ? this.definition.handlers[model.name] : undefined,
      validate,
      throttlingError: () => (throttling ? new ServiceError(throttling, 'Rate exceeded') : this.commonError('throttling')),
      internalError: () => (fault ? new ServiceError(fault, 'An internal error occurred; try again.') : this.commonError('internal')),
    };
  }

  private load() {
    if (!this.loaded) {
      const model = loadServiceModel(this.definition.modelDirectory ?? this.definition.signingName);
      this.loaded = { model, protocol: createProtocol(model, this.definition), validators: new ValidatorCompiler(model) };
    }
    return this.loaded;
  }
}

function declaredError(operation: OperationModel, candidates: readonly string[]): string | undefined {
  const declared = new Set((operation.errors ?? []).map((e) => e.shape));
  return candidates.find((name) => declared.has(name));
}

function createProtocol(model: ServiceModel, definition: ServiceDefinition): Protocol {
  switch (model.metadata.protocol) {
    case 'json':
      return new AwsJsonProtocol(model);
    case 'rest-json':
      return new RestJsonProtocol(model);
    case 'query':
      return new QueryProtocol(model, 'query');
    case 'ec2':
      return new QueryProtocol(model, 'ec2');
    case 'rest-xml':
      return new RestXmlProtocol(model, definition.xmlRootNames ?? {});
    default:
      throw new Error(`the ${definition.signingName} model uses the protocol ${String(model.metadata.protocol)}, which the sandbox does not speak`);
  }
}
