import { z } from 'zod';

/** Patterns from the Organizations service model, so a snapshot holds only ids AWS could issue. */
export const accountIdSchema = z.string().regex(/^\d{12}$/, 'an account id is exactly 12 digits');
export const rootIdSchema = z.string().regex(/^r-[0-9a-z]{4,32}$/, 'a root id looks like r-ab12');
export const ouIdSchema = z.string().regex(/^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$/, 'an OU id looks like ou-ab12-cdefgh34');
export const parentIdSchema = z.union([rootIdSchema, ouIdSchema]);

export const tagsSchema = z.record(z.string(), z.string());
export type Tags = z.infer<typeof tagsSchema>;

/** AccountStatus from the model, plus the newer AccountState values it is being replaced by. */
export const accountStatusSchema = z.enum(['ACTIVE', 'SUSPENDED', 'PENDING_CLOSURE', 'PENDING_ACTIVATION', 'CLOSED']);
export type AccountStatus = z.infer<typeof accountStatusSchema>;

export const rootSchema = z.strictObject({ id: rootIdSchema, name: z.string().min(1) });
export type Root = z.infer<typeof rootSchema>;

export const organizationalUnitSchema = z.strictObject({
  id: ouIdSchema,
  name: z.string().min(1),
  parentId: parentIdSchema,
  /** Names from the root down to this OU, joined by `/`: `Root/Workloads/Prod`. */
  path: z.string().min(1),
  tags: tagsSchema,
});
export type OrganizationalUnit = z.infer<typeof organizationalUnitSchema>;

export const accountSchema = z.strictObject({
  id: accountIdSchema,
  name: z.string(),
  email: z.string(),
  status: accountStatusSchema,
  parentId: parentIdSchema,
  /** Names from the root down to the account's parent, joined by `/`; `Root` for an account in the root. */
  ouPath: z.string().min(1),
  tags: tagsSchema,
  joinedAt: z.iso.datetime({ offset: true }).optional(),
});
export type Account = z.infer<typeof accountSchema>;

export const organizationSnapshotSchema = z.strictObject({
  fetchedAt: z.iso.datetime({ offset: true }),
  managementAccountId: accountIdSchema,
  root: rootSchema,
  ous: z.array(organizationalUnitSchema),
  accounts: z.array(accountSchema),
});
export type OrganizationSnapshot = z.infer<typeof organizationSnapshotSchema>;
