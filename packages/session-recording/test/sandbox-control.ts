/** The sandbox's controls for what AppStream has no API for (Image Assistant, a user streaming, a day passing). */
export async function sandboxControl(url: string, path: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}/_sandbox/${path}`, { method: 'POST', body: JSON.stringify(body) });
  const json = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`${String(json['error'])}: ${String(json['message'])}`);
  return json;
}
