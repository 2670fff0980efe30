/**
 * The shapes of a conversation, in a module of types only: the accumulator builds them and the
 * detectors read them, and neither needs to import the other for it.
 */

export type FlowDirection = 'inbound' | 'outbound' | 'unknown';

/** A conversation as an analysis reports it. */
export interface Conversation {
  remoteIp: string;
  localPort: number;
  remotePort: number;
  /** IANA protocol number. */
  protocol: number;
  /** Who opened it, from TCP flags where the format has them, else the port rule. */
  direction: FlowDirection;
  inBytes: number;
  outBytes: number;
  inPackets: number;
  outPackets: number;
  /** Records accepted and rejected. */
  accepted: number;
  rejected: number;
  firstSeen: string;
  lastSeen: string;
  fromFinding?: true;
}

/** A conversation as the detectors see it: what is reported, times in epoch seconds, and the accepted outbound bytes. */
export interface ConversationFacts extends Omit<Conversation, 'firstSeen' | 'lastSeen' | 'fromFinding'> {
  /** Outbound bytes of accepted records. */
  readonly acceptedOutBytes: number;
  readonly firstSeenAt: number;
  readonly lastSeenAt: number;
}
