/**
 * An error a handler throws to answer with one of the service's errors. `code` is the error's
 * shape name in the model (`AccountNotFoundException`, `NoSuchKey`); the protocol looks the shape
 * up for its HTTP status and wire code, so a handler names the error as the model does. Errors
 * the model does not declare (STS `AccessDenied`, `Throttling`) need `status`.
 */
export class ServiceError extends Error {
  readonly code: string;
  /** Further members of the error shape, e.g. `{ Reason: 'INVALID_NEXT_TOKEN' }`, `{ Key }` for S3. */
  readonly fields: Record<string, unknown>;
  readonly status: number | undefined;

  constructor(code: string, message: string, options: { fields?: Record<string, unknown>; status?: number } = {}) {
    super(message);
    this.name = 'ServiceError';
    this.code = code;
    this.fields = options.fields ?? {};
    this.status = options.status;
  }
}
