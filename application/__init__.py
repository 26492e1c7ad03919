"""The register's use cases: commands decided and saved, imports, verification and reads, the
same for the HTTP API, the command line and the demo (one unit of work, one access policy)."""
