// Clients for the operational services: grpc.health.v1 and server reflection.
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { checkHealth } from '../../src/commands/health.js';

const require = createRequire(import.meta.url);

export function healthCheck(address: string, service: string): Promise<string> {
  return checkHealth(address, service, 5000);
}

/** Lists services through grpc.reflection.v1, as grpcurl does. */
export function listServices(address: string): Promise<string[]> {
  const file = require.resolve('@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto');
  const def = protoLoader.loadSync(file, { keepCase: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    grpc: {
      reflection: {
        v1: {
          ServerReflection: new (
            a: string,
            c: grpc.ChannelCredentials,
          ) => grpc.Client & { ServerReflectionInfo: () => grpc.ClientDuplexStream<object, ReflectionResponse> };
        };
      };
    };
  };
  interface ReflectionResponse {
    list_services_response?: { service: Array<{ name: string }> };
  }
  const client = new pkg.grpc.reflection.v1.ServerReflection(address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const stream = client.ServerReflectionInfo();
    stream.on('data', (res: ReflectionResponse) => {
      resolve((res.list_services_response?.service ?? []).map((s) => s.name));
      stream.end();
      client.close();
    });
    stream.on('error', reject);
    stream.write({ list_services: '' });
  });
}
