from flashdrive.cli.main import main

raise SystemExit(main())
