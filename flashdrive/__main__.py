from flashdrive.cli.main import entry

raise SystemExit(entry())
