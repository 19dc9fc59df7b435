"""The gRPC service: API stubs, request validation, subgraph fetch, incidents, server and client."""
