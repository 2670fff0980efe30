import type { ValidationFailure } from './model/input-validator.js';
import type { CallerIdentity } from './world/credentials.js';
import type { RegionStateKey, World } from './world/world.js';

/** What a handler knows about the request it answers. */
export interface RequestContext {
  readonly world: World;
  /** The SigV4 signing name (`organizations`, `s3`) and the model's operation name. */
  readonly service: string;
  readonly operation: string;
  /** From the credential scope of the request's signature. */
  readonly region: string;
  /** The caller's account: the assumed role's account, or the management account. */
  readonly accountId: string;
  readonly caller: CallerIdentity;
  readonly requestId: string;
  /** Shorthand for `world.account(accountId).region(region).state(key)`. */
  state<T>(key: RegionStateKey<T>): T;
}

/**
 * A handler takes the operation's input (keyed by the model's member names, timestamps as Date,
 * blobs as Buffer) and returns its output the same way; the protocol does the wire format.
 * Annotate `input` with the SDK's type (`ListAccountsRequest`) or your own: `never` here lets
 * every such function fit. Throw `ServiceError` to answer with one of the service's errors.
 */
export type Handler = (input: never, ctx: RequestContext) => unknown;

export interface ServiceDefinition {
  /** The SigV4 signing name, i.e. the service in `Credential=AKID/date/region/<service>/aws4_request`. */
  signingName: string;
  /** Folder under `models/` holding `service-*.json.gz`; defaults to `signingName`. */
  modelDirectory?: string;
  /**
   * The error shape for input that fails validation, when the operation declares none of
   * ValidationException, InvalidInputException, BadRequestException (e.g. FMS's
   * InvalidInputException for every operation). Defaults to the protocol's.
   */
  validationError?: string;
  /** Further members of the validation error (Organizations' `Reason`). */
  validationErrorFields?: (failures: readonly ValidationFailure[]) => Record<string, unknown>;
  /**
   * Per operation, the ids of the resources a request acts on, written to the request log's
   * `resources` (ids only, never secrets), so a test can show which resources a run touched.
   */
  loggedResources?: Record<string, (input: never) => string[]>;
  /** restXml: root element of an operation's output where the model leaves it implicit. */
  xmlRootNames?: Record<string, string>;
  handlers: Record<string, Handler>;
}

/** Identity function that gives a service file's definition its type. */
export function defineService(definition: ServiceDefinition): ServiceDefinition {
  return definition;
}
