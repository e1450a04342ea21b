"""Day-2 operations on a deployed stack: ps, logs, run, exec, restart.

They talk to the Docker Engine through the Docker SDK for Python (DOCKER_HOST honoured) and
find the stack by its containers' labels (flashdrive/labels.py), never by parsing CLI output.
"""
