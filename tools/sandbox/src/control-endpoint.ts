import { z } from 'zod';
import type { WireRequest, WireResponse } from './protocols/protocol.js';
import { ServiceError } from './service-error.js';
import { createImageFromBuilder, deliverUsageReports, endSession, finishImage, fleetRoleCredentials, releaseAgent, startSession } from './services/appstream-store.js';
import type { World } from './world/world.js';

/**
 * Sandbox-only controls, under `POST /_sandbox/...` with a JSON body, for what AWS has no API
 * for and a test must still drive from outside the process (a CLI test, the demo): Image
 * Assistant making an image, a user streaming, AppStream's daily usage report. No signature is
 * needed; AWS has no such paths. The same functions are exported for in-process tests.
 */
export const CONTROL_PREFIX = '/_sandbox/';

const scope = { accountId: z.string().regex(/^\d{12}$/), region: z.string().min(1) };
const date = z.iso.datetime().transform((s) => new Date(s));

const controls: Record<string, (world: World, body: unknown) => unknown> = {
  'appstream/images': (world, body) => {
    const request = z.strictObject({ ...scope, builderName: z.string(), imageName: z.string(), displayName: z.string().optional(), description: z.string().optional(), tags: z.record(z.string(), z.string()).optional(), sessionScriptsConfig: z.string().optional() }).parse(body);
    const image = createImageFromBuilder(world, dropUndefined(request));
    return { name: image.name, arn: image.arn, state: image.state.state };
  },
  'appstream/images/finish': (world, body) => {
    const request = z.strictObject({ ...scope, imageName: z.string(), outcome: z.enum(['AVAILABLE', 'FAILED']).optional() }).parse(body);
    const image = finishImage(world, dropUndefined(request));
    return { name: image.name, arn: image.arn, state: image.state.state };
  },
  'appstream/agent-release': (world, body) => ({ outdated: releaseAgent(world, z.strictObject(scope).parse(body)) }),
  'appstream/sessions': (world, body) => {
    const request = z.strictObject({ ...scope, stackName: z.string(), fleetName: z.string(), userId: z.string(), authenticationType: z.enum(['USERPOOL', 'SAML', 'API', 'AWS_AD']).optional(), startTime: date.optional() }).parse(body);
    const session = startSession(world, dropUndefined(request));
    return { sessionId: session.id, instanceId: session.instanceId, startTime: session.startTime.toISOString() };
  },
  'appstream/sessions/end': (world, body) => {
    const request = z.strictObject({ ...scope, sessionId: z.string(), endTime: date.optional() }).parse(body);
    const session = endSession(world, dropUndefined(request));
    return { sessionId: session.id, endTime: session.endTime?.toISOString() };
  },
  'appstream/fleet-role-credentials': (world, body) => {
    const request = z.strictObject({ ...scope, fleetName: z.string() }).parse(body);
    const credentials = fleetRoleCredentials(world, request);
    // The shape of a credential_process answer, so `aws` and the SDKs can use it directly.
    return { Version: 1, AccessKeyId: credentials.accessKeyId, SecretAccessKey: credentials.secretAccessKey, SessionToken: credentials.sessionToken, Expiration: credentials.expiration.toISOString() };
  },
  'appstream/usage-reports': (world, body) => {
    const request = z.strictObject({ ...scope, since: date.optional() }).parse(body);
    return { keys: deliverUsageReports(world, dropUndefined(request)) };
  },
};

export function isControlRequest(request: WireRequest): boolean {
  return request.path.startsWith(CONTROL_PREFIX);
}

export function answerControl(world: World, request: WireRequest): { response: WireResponse; error: string | null } {
  const name = request.path.slice(CONTROL_PREFIX.length);
  const control = Object.hasOwn(controls, name) ? controls[name] : undefined;
  const json = (status: number, body: unknown): WireResponse => ({ status, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!control || request.method !== 'POST') {
    return { response: json(404, { error: 'UnknownControl', message: `The sandbox has no control ${request.method} ${request.path}; it has POST ${Object.keys(controls).map((c) => CONTROL_PREFIX + c).join(', ')}.` }), error: 'UnknownControl' };
  }
  try {
    const body: unknown = request.body.length > 0 ? JSON.parse(request.body.toString('utf8')) : {};
    return { response: json(200, control(world, body)), error: null };
  } catch (error) {
    if (error instanceof z.ZodError) return { response: json(400, { error: 'ValidationException', message: z.prettifyError(error) }), error: 'ValidationException' };
    if (error instanceof SyntaxError) return { response: json(400, { error: 'SerializationException', message: `The body is not JSON: ${error.message}` }), error: 'SerializationException' };
    if (error instanceof ServiceError) return { response: json(error.code === 'ResourceNotFoundException' ? 404 : 400, { error: error.code, message: error.message }), error: error.code };
    if (error instanceof Error && /not in the sandbox organization/.test(error.message)) return { response: json(404, { error: 'UnknownAccount', message: error.message }), error: 'UnknownAccount' };
    throw error;
  }
}

function dropUndefined<T extends Record<string, unknown>>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}
