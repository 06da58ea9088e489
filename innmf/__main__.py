from innmf.cli import main

raise SystemExit(main())
