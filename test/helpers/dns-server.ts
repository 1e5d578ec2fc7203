// A DNS server of the test's own on loopback UDP: answers A queries for one
// name with the given addresses (as a headless Service's DNS does) and every
// other question with an empty NOERROR, so no lookup waits for a timeout.
import dgram from 'node:dgram';
import * as dnsPacket from 'dns-packet';

export interface DnsServer {
  port: number;
  /** Questions seen, as "TYPE name". */
  questions: string[];
  close(): Promise<void>;
}

export async function startDnsServer(name: string, addresses: string[]): Promise<DnsServer> {
  const socket = dgram.createSocket('udp4');
  const questions: string[] = [];
  const wanted = name.toLowerCase().replace(/\.$/, '');
  socket.on('message', (msg, peer) => {
    let query: dnsPacket.DecodedPacket;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      return; // not DNS: ignore
    }
    const answers: dnsPacket.Answer[] = [];
    for (const q of query.questions ?? []) {
      questions.push(`${q.type} ${q.name}`);
      if (q.type === 'A' && q.name.toLowerCase().replace(/\.$/, '') === wanted) {
        for (const data of addresses) answers.push({ type: 'A', name: q.name, ttl: 5, class: 'IN', data });
      }
    }
    const reply = dnsPacket.encode({
      type: 'response',
      id: query.id,
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | dnsPacket.AUTHORITATIVE_ANSWER,
      questions: query.questions,
      answers,
    });
    socket.send(reply, peer.port, peer.address);
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => resolve());
  });
  return {
    port: socket.address().port,
    questions,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
