/**
 * What marks a conversation as a GuardDuty finding's, apart from the detectors: the reader
 * and output threads mark rows with it, and need nothing else of flow-findings (whose
 * thresholds' schema loads zod, tens of milliseconds of each thread's start).
 */

/** The IPs and ports of a GuardDuty finding, to mark what involves them. */
export interface FindingMark {
  ips: readonly string[];
  ports: readonly number[];
}

/**
 * Whether a conversation involves the marked IPs and ports: with both given it needs
 * both (its remote IP, and its local or remote port); with one given, that one.
 */
export function isMarkedConversation(mark: FindingMark | undefined, remoteIp: string, localPort: number, remotePort: number): boolean {
  if (mark === undefined) return false;
  const ipMatch = mark.ips.includes(remoteIp);
  const portMatch = mark.ports.includes(localPort) || mark.ports.includes(remotePort);
  if (mark.ips.length > 0 && mark.ports.length > 0) return ipMatch && portMatch;
  return ipMatch || portMatch;
}
