"""A stand-in for the `pulumi` CLI, for tests: the real CLI cannot be installed on the build machine.

It answers the commands the Automation API sends for `flashdrive up|preview|destroy|outputs` (and `stack ls`,
`stack rm` for the preview workflow) the way the
real CLI does (same arguments, same JSON shapes, same error texts the SDK recognises), keeps which
stacks exist in $FAKE_PULUMI_STATE, and appends every call (argv, cwd, the environment variables
that matter) as a JSON line to $FAKE_PULUMI_LOG. $FAKE_PULUMI_FAIL=up makes `up` fail like a real
failed update, =destroy:STACK the destroy of that stack.
"""

import json
import os
import sys
from pathlib import Path

WATCHED_ENV = ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_SKIP_UPDATE_CHECK")


def main(argv: list[str]) -> int:
    with open(os.environ["FAKE_PULUMI_LOG"], "a", encoding="utf-8") as log:
        log.write(json.dumps({"argv": argv, "cwd": os.getcwd(),
                              "env": {k: os.environ[k] for k in WATCHED_ENV if k in os.environ}}) + "\n")
    args = [a for a in argv if a != "--non-interactive"]
    stacks = Path(os.environ["FAKE_PULUMI_STATE"])
    stacks.mkdir(parents=True, exist_ok=True)

    def stack_arg() -> str:
        return args[args.index("--stack") + 1] if "--stack" in args else ""

    if args[:1] == ["version"]:
        print("v3.272.0")
        return 0
    if args[:2] == ["stack", "init"]:
        (stacks / args[2]).write_text("created\n")
        return 0
    if args[:2] == ["stack", "select"] or (args[:1] == ["stack"] and args[1:2] == ["--stack"]):
        if not (stacks / stack_arg()).exists():
            print(f"error: no stack named '{stack_arg()}' found", file=sys.stderr)
            return 255
        return 0
    if args[:2] == ["stack", "ls"]:
        # A stack file may hold what `stack ls --json` says of it ({"lastUpdate": ..., "updateInProgress": ...}).
        listed = []
        for path in sorted(p for p in stacks.iterdir() if "." not in p.name):
            text = path.read_text()
            known = json.loads(text) if text.startswith("{") else {}
            listed.append({"name": path.name, "current": False, **known})
        print(json.dumps(listed))
        return 0
    if args[:2] == ["stack", "rm"]:
        name = [a for a in args[2:] if not a.startswith("--")][-1]
        if not (stacks / name).exists():
            print(f"error: no stack named '{name}' found", file=sys.stderr)
            return 255
        (stacks / name).unlink()
        return 0
    if args[:2] == ["plugin", "install"]:
        return 0
    if args[:2] == ["config", "get"]:
        config = stacks / f"{stack_arg()}.config.json"
        values = json.loads(config.read_text()) if config.exists() else {}
        if args[2] not in values:
            print(f"error: configuration key '{args[2]}' not found for stack '{stack_arg()}'", file=sys.stderr)
            return 255
        print(values[args[2]]["value"])  # as the real CLI: `config get` shows a secret in clear
        return 0
    if args[:2] == ["config", "set"]:
        # `pulumi config set KEY` without a value reads it from stdin.
        if not (stacks / stack_arg()).exists():
            print(f"error: no stack named '{stack_arg()}' found", file=sys.stderr)
            return 255
        words = [a for a in args[2:] if not a.startswith("--") and a != stack_arg()]
        config = stacks / f"{stack_arg()}.config.json"
        values = json.loads(config.read_text()) if config.exists() else {}
        values[words[0]] = {"value": words[1] if len(words) > 1 else sys.stdin.read(), "secret": "--secret" in args}
        config.write_text(json.dumps(values))
        return 0
    if args[:1] == ["up"]:
        print(f"Updating ({stack_arg()})")
        print("    + docker:index/container:Container shop-web-1 created")
        if os.environ.get("FAKE_PULUMI_FAIL") == "up":
            print("error: update failed", file=sys.stderr)
            print("error: docker:index/container:Container resource 'shop-web-1': Cannot connect to the Docker daemon",
                  file=sys.stderr)
            return 255
        print("Resources:\n    + 1 created")
        return 0
    if args[:1] == ["preview"]:
        print(f"Previewing update ({stack_arg()})")
        print("    + docker:index/container:Container shop-web-1 create")
        send_summary(args[args.index("--event-log") + 1], {"create": 1})
        return 0
    if args[:1] == ["destroy"]:
        print(f"Destroying ({stack_arg()})")
        if os.environ.get("FAKE_PULUMI_FAIL") == f"destroy:{stack_arg()}":
            print(f"error: the stack '{stack_arg()}' is currently locked by 1 lock(s)", file=sys.stderr)
            return 255
        print("    - docker:index/container:Container shop-web-1 deleted")
        return 0
    if args[:2] == ["stack", "output"]:
        secret = "hunter2" if "--show-secrets" in args else "[secret]"
        print(json.dumps({"urls": {"web": "https://shop.example.com"}, "adminPassword": secret}))
        return 0
    if args[:2] == ["stack", "history"]:
        print(json.dumps([{"kind": "update", "startTime": "2024-01-01T00:00:00.000000Z", "message": "",
                           "environment": {}, "config": {}, "result": "succeeded",
                           "endTime": "2024-01-01T00:00:05.000000Z", "version": 1,
                           "resourceChanges": {"create": 1}}]))
        return 0
    print(f"error: the fake pulumi does not know `{' '.join(args)}`", file=sys.stderr)
    return 2


def send_summary(event_log: str, changes: dict) -> None:
    """The engine's summary event, which the Automation API waits for after a preview: over gRPC
    to `tcp://HOST:PORT` (the CLI versions this fake claims), as the real CLI streams it."""
    import grpc
    from pulumi.runtime.proto import events_pb2, events_pb2_grpc

    event = {"sequence": 1, "timestamp": 0,
             "summaryEvent": {"maybeCorrupt": False, "durationSeconds": 0, "resourceChanges": changes}}
    with grpc.insecure_channel(event_log.removeprefix("tcp://")) as channel:
        events_pb2_grpc.EventsStub(channel).StreamEvents(iter([events_pb2.EventRequest(event=json.dumps(event))]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
