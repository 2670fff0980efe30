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

/**
 * Conversations as the detectors read them, by position (0 to length - 1, in the list's
 * order), field by field: the analysis hands its table's numbers this way, so the detectors
 * make no object per conversation; `facts` makes one for the few they look at closely.
 */
export interface ConversationTable {
  readonly length: number;
  /** A number for the remote address: equal numbers, equal addresses (within one table). */
  address(i: number): number;
  /** The text of an address number. */
  addressText(address: number): string;
  localPort(i: number): number;
  protocol(i: number): number;
  direction(i: number): FlowDirection;
  inBytes(i: number): number;
  outBytes(i: number): number;
  acceptedOutBytes(i: number): number;
  accepted(i: number): number;
  rejected(i: number): number;
  firstSeenAt(i: number): number;
  lastSeenAt(i: number): number;
  facts(i: number): ConversationFacts;
}

/**
 * What the end of an analysis hands its conversations to, a partition at a time (the
 * detectors): each table sorted by bytes, largest first, then address and key.
 */
export interface PartitionVisitor {
  /** A table holding every conversation of its remote addresses. */
  add(table: ConversationTable): void;
  /**
   * A piece of rows too many for one table (a remote address with more conversations than
   * the merge's table holds), split by conversation: each conversation is whole in one piece,
   * but its address's others come in other pieces, until endPieces(). Address numbers are
   * the same across the pieces.
   */
  addPiece(table: ConversationTable): void;
  /** The pieces of one split are all handed in. */
  endPieces(): void;
}
