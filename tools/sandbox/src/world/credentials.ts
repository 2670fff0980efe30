import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from './clock.js';

/** Who is calling, as STS GetCallerIdentity would say, and which account's state they reach. */
export interface CallerIdentity {
  accountId: string;
  arn: string;
  userId: string;
  accessKeyId: string;
  /** Set for credentials that AssumeRole issued. */
  role?: { name: string; arn: string; sessionName: string };
}

export interface IssuedCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  expiration: Date;
}

export type CredentialCheck =
  | { ok: true; identity: CallerIdentity }
  | { ok: false; reason: 'expired' | 'invalid-token' };

interface Session {
  credentials: IssuedCredentials;
  identity: CallerIdentity;
}

const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * Maps access keys to accounts. Keys this sandbox's STS issued map to the assumed role's account
 * until their Expiration; any other key is taken as a user of the management account, so the
 * caller's own (fake) credentials work unchanged.
 */
export class CredentialStore {
  private readonly sessions = new Map<string, Session>();

  constructor(
    private readonly managementAccountId: string,
    private readonly clock: Clock,
  ) {}

  check(accessKeyId: string, sessionToken: string | undefined): CredentialCheck {
    const session = this.sessions.get(accessKeyId);
    if (!session) return { ok: true, identity: this.managementUser(accessKeyId) };
    if (sessionToken !== session.credentials.sessionToken) return { ok: false, reason: 'invalid-token' };
    if (session.credentials.expiration.getTime() <= this.clock.now().getTime()) return { ok: false, reason: 'expired' };
    return { ok: true, identity: session.identity };
  }

  /**
   * Ends every session issued into `accountId` now, as AWS does for a session a client still
   * believes valid (its clock behind, or its cached expiry wrong): calls with them get
   * ExpiredToken. Returns how many were ended.
   */
  expireSessions(accountId: string): number {
    const nowMs = this.clock.now().getTime();
    let ended = 0;
    for (const session of this.sessions.values()) {
      if (session.identity.accountId !== accountId || session.credentials.expiration.getTime() <= nowMs) continue;
      session.credentials.expiration = new Date(nowMs);
      ended++;
    }
    return ended;
  }

  issueRoleSession(
    accountId: string,
    role: { name: string; arn: string; roleId: string },
    sessionName: string,
    durationSeconds: number,
  ): { credentials: IssuedCredentials; identity: CallerIdentity } {
    const accessKeyId = `ASIA${randomKey(16)}`;
    const credentials: IssuedCredentials = {
      accessKeyId,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: randomBytes(180).toString('base64'),
      expiration: new Date(Math.floor(this.clock.now().getTime() / 1000) * 1000 + durationSeconds * 1000),
    };
    const identity: CallerIdentity = {
      accountId,
      arn: `arn:aws:sts::${accountId}:assumed-role/${role.name}/${sessionName}`,
      userId: `${role.roleId}:${sessionName}`,
      accessKeyId,
      role: { name: role.name, arn: role.arn, sessionName },
    };
    this.sessions.set(accessKeyId, { credentials, identity });
    return { credentials, identity };
  }

  /** Every set of credentials this STS handed out, so a test can look for them where they must never be. */
  issued(): IssuedCredentials[] {
    return [...this.sessions.values()].map((session) => ({ ...session.credentials }));
  }

  private managementUser(accessKeyId: string): CallerIdentity {
    return {
      accountId: this.managementAccountId,
      arn: `arn:aws:iam::${this.managementAccountId}:user/sandbox-admin`,
      userId: `AIDA${stableKey(accessKeyId, 17)}`,
      accessKeyId,
    };
  }
}

function randomKey(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const byte of bytes) out += KEY_ALPHABET[byte % KEY_ALPHABET.length];
  return out;
}

/** The same key always reports the same user id, as IAM does. */
export function stableKey(input: string, length: number): string {
  const digest = createHash('sha256').update(input).digest();
  let out = '';
  for (let i = 0; i < length; i++) out += KEY_ALPHABET[(digest[i % digest.length] ?? 0) % KEY_ALPHABET.length];
  return out;
}
