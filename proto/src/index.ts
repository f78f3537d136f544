import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

/** Absolute path of dataprocessor.proto. */
export const DATAPROCESSOR_PROTO_PATH = fileURLToPath(new URL('../dataprocessor.proto', import.meta.url));

export interface RawData {
  content: string;
}

export interface ProcessingResponse {
  status: string;
  message: string;
  accepted: number;
  rejected: number;
}

export type DataProcessorClient = grpc.Client & {
  ProcessData(
    request: RawData,
    metadataOrCallback?: grpc.Metadata | grpc.CallOptions | grpc.requestCallback<ProcessingResponse>,
    optionsOrCallback?: grpc.CallOptions | grpc.requestCallback<ProcessingResponse>,
    callback?: grpc.requestCallback<ProcessingResponse>,
  ): grpc.ClientUnaryCall;
};

export interface DataProcessorDefinition {
  service: grpc.ServiceDefinition;
  Client: new (
    address: string,
    credentials: grpc.ChannelCredentials,
    options?: grpc.ChannelOptions,
  ) => DataProcessorClient;
}

/** Loads the DataProcessor service definition and client constructor from the proto file. */
export function loadDataProcessor(): DataProcessorDefinition {
  const definition = protoLoader.loadSync(DATAPROCESSOR_PROTO_PATH, {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    dataprocessor: { DataProcessor: grpc.ServiceClientConstructor };
  };
  const ctor = pkg.dataprocessor.DataProcessor;
  return { service: ctor.service, Client: ctor as unknown as DataProcessorDefinition['Client'] };
}
