// `mygrpcadapter health`: asks a running adapter's grpc.health.v1 service,
// exit 0 when SERVING. For exec probes on clusters without native gRPC
// probes, and for operators at a shell.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { protoPath } from 'grpc-health-check';
import type { CommandModule } from 'yargs';
import { dial, PLAINTEXT, type DialSettings } from '../transport/dial.js';
import { dialSettings, withDialOptions, type DialArgs } from './dial-options.js';

interface HealthArgs extends DialArgs {
  address: string;
  service: string;
  timeout: number;
}

type CheckClient = grpc.Client & {
  Check(
    req: { service: string },
    options: grpc.CallOptions,
    cb: (err: grpc.ServiceError | null, res?: { status: string }) => void,
  ): void;
};

/** The serving status the adapter at `address` reports for `service` ("" = the whole server). */
export async function checkHealth(
  address: string,
  service: string,
  timeoutMs: number,
  how: DialSettings = PLAINTEXT,
): Promise<string> {
  const def = protoLoader.loadSync(protoPath, { keepCase: true, enums: String });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    grpc: {
      health: {
        v1: {
          Health: new (address: string, creds: grpc.ChannelCredentials, options: grpc.ChannelOptions) => CheckClient;
        };
      };
    };
  };
  const { credentials, channelOptions } = await dial(how);
  const client = new pkg.grpc.health.v1.Health(address, credentials, channelOptions);
  return new Promise<string>((resolve, reject) => {
    client.Check({ service }, { deadline: Date.now() + timeoutMs }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res?.status ?? 'UNKNOWN');
    });
  });
}

export const healthCommand: CommandModule<object, HealthArgs> = {
  command: 'health',
  describe: "ask a running adapter's gRPC health service; exit 0 when SERVING",
  builder: (y) =>
    withDialOptions(y)
      .option('address', { type: 'string', default: '127.0.0.1:8000', describe: 'host:port of the adapter' })
      .option('service', { type: 'string', default: '', describe: 'service name ("" = the whole server)' })
      .option('timeout', { type: 'number', default: 2000, describe: 'ms to wait for the answer' }),
  handler: async (args) => {
    const status = await checkHealth(args.address, args.service, args.timeout, dialSettings(args)).catch(
      (err: Error & Partial<grpc.ServiceError>) => {
        if (err.code === undefined) throw err; // a dial setting was refused: its own message
        throw new Error(`health check of ${args.address} failed: ${grpc.status[err.code]} ${err.details ?? ''}`);
      },
    );
    process.stdout.write(`${status}\n`);
    if (status !== 'SERVING') process.exitCode = 1;
  },
};
