import { InvalidInputError } from '@orgshield/errors';
import { z } from 'zod';
import { OrganizationIndex, hasAllTags, isTarget } from './organization-index.js';
import { accountIdSchema, tagsSchema, type OrganizationSnapshot } from './organization-schema.js';

const accountListSchema = z.array(accountIdSchema);
const ouListSchema = z.array(z.string().min(1));

/**
 * Which accounts a piece of work targets. `accounts` and `ous` (paths like `Root/Workloads/Prod`
 * or ids; an OU covers everything below it) add accounts; `tags` keeps only accounts carrying
 * every tag given (over the whole organization when neither list is given); `exclude` removes
 * accounts by the same three means (an empty `exclude.tags` removes nothing).
 */
export const accountSelectorSchema = z
  .strictObject({
    all: z.boolean().optional(),
    accounts: accountListSchema.optional(),
    ous: ouListSchema.optional(),
    tags: tagsSchema.optional(),
    exclude: z
      .strictObject({ accounts: accountListSchema.optional(), ous: ouListSchema.optional(), tags: tagsSchema.optional() })
      .optional(),
    includeManagement: z.boolean().optional(),
  })
  .refine((s) => s.all === true || s.accounts !== undefined || s.ous !== undefined || s.tags !== undefined, {
    message: 'a selector needs all, accounts, ous or tags',
  });
export type AccountSelector = z.infer<typeof accountSelectorSchema>;

function parseSelector(input: unknown): AccountSelector {
  const parsed = accountSelectorSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path ?? [];
  const where = path.map(String).join('.');
  let value: unknown = input;
  for (const key of path) value = (value as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey];
  const shown = value === undefined || typeof value === 'object' ? '' : ` "${String(value)}"`;
  throw new InvalidInputError(`selector${where ? ` ${where}` : ''}${shown}: ${issue?.message ?? 'invalid'}.`);
}

/** The account ids a selector picks in this organization, sorted; only ACTIVE accounts are targets. */
export function resolveSelector(snapshot: OrganizationSnapshot, selector: AccountSelector): string[] {
  const s = parseSelector(selector);
  const index = OrganizationIndex.of(snapshot);
  const picked = s.all || (s.accounts === undefined && s.ous === undefined)
    ? new Set(index.accounts.map((account) => account.id))
    : index.accountIdsIn(s.accounts, s.ous, { accounts: 'accounts', ous: 'ous' });
  const excluded = index.accountIdsIn(s.exclude?.accounts, s.exclude?.ous, { accounts: 'exclude.accounts', ous: 'exclude.ous' });
  const excludeTags = s.exclude?.tags && Object.keys(s.exclude.tags).length > 0 ? s.exclude.tags : undefined;

  return index.accounts
    .filter((account) => picked.has(account.id) && !excluded.has(account.id))
    .filter((account) => !s.tags || hasAllTags(account, s.tags))
    .filter((account) => !excludeTags || !hasAllTags(account, excludeTags))
    .filter((account) => isTarget(account, snapshot.managementAccountId, s.includeManagement === true))
    .map((account) => account.id)
    .sort();
}
