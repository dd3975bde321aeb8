from wagw.cli import main

raise SystemExit(main())
