"""The docker backend: one Docker host, one component per idea (network, app, disk, database, edge)."""
