"""The kubernetes backend: one namespace per stack, one component per idea (namespace, image, disk,
database, app, edge, network policy, backup).

pulumi-kubernetes is the optional extra `kubernetes`; nothing here is imported unless this backend
runs (flashdrive.program imports flashdrive.kubernetes.stack lazily).
"""
