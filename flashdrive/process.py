"""What the running process is for, where work that only frees memory for later depends on it."""

# True in the `flashdrive` command (flashdrive.cli.main.entry): the process ends with its command,
# so garbage is left to the exit rather than collected first (the plan's capture skips its final
# collection). False for in-process callers (tests, benchmarks), whose garbage must not pile up.
ends_after_command = False
