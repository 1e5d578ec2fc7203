// URI subject alternative names (SPIFFE IDs) out of Node's subjectaltname
// string, e.g. `DNS:localhost, IP Address:127.0.0.1, URI:spiffe://cluster.local/ns/x/sa/y`.
// Node quotes a value JSON-style when it holds a comma or a quote, so a
// plain split on ", " would be fooled by a crafted certificate.
const ENTRY = /(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g;

export function uriSans(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  const uris: string[] = [];
  for (const m of subjectAltName.matchAll(ENTRY)) {
    const raw = m[2] ?? '';
    if (m[1] === 'URI') uris.push(raw.startsWith('"') ? (JSON.parse(raw) as string) : raw);
  }
  return uris;
}
