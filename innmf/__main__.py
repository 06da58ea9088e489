from innmf.tools.cli import main

raise SystemExit(main())
