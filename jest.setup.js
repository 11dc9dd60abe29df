import 'reflect-metadata';
// Keep Google client libraries from probing the cloud metadata server: tests talk to loopback only.
process.env.METADATA_SERVER_DETECTION ??= 'none';
